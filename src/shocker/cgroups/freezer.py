"""Freezing a cgroup's tasks (`pause`), in both versions' terms.

v1: the freezer hierarchy's freezer.state, FROZEN/THAWED written, FREEZING read while the
kernel works (Documentation/admin-guide/cgroup-v1/freezer-subsystem.rst). v2: cgroup.freeze
written 1/0, `frozen 1` in cgroup.events once done (cgroup-v2.rst, "Core Interface Files").
"""

from __future__ import annotations

import time
from pathlib import Path

from shocker.cgroups.driver import write
from shocker.errors import CgroupError

_WAIT_S = 5.0


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as error:
        raise CgroupError(f"cannot read the freezer state ({path}): {error.strerror}") from None


def _until(done: Path, check: str, what: str) -> None:
    """Poll until `check` reads from `done`: freezing completes asynchronously."""
    deadline = time.monotonic() + _WAIT_S
    while check not in _read(done).split("\n"):
        if time.monotonic() > deadline:
            raise CgroupError(f"cannot {what} cgroup {done.parent}: still not done after 5 s")
        time.sleep(0.002)


def v1_set(directory: Path | None, frozen: bool) -> None:
    if directory is None:
        raise CgroupError("cannot pause: no freezer hierarchy is mounted")
    state = directory / "freezer.state"
    value = "FROZEN" if frozen else "THAWED"
    write(state, value, "freezer state")
    _until(state, value, "freeze" if frozen else "thaw")


def v1_is_frozen(directory: Path | None) -> bool:
    if directory is None:
        return False
    try:
        # FREEZING counts: some tasks are already stopped.
        return directory.joinpath("freezer.state").read_text().strip() != "THAWED"
    except OSError:
        return False


def v2_set(directory: Path, frozen: bool) -> None:
    write(directory / "cgroup.freeze", "1" if frozen else "0", "freezer state")
    _until(directory / "cgroup.events", f"frozen {int(frozen)}", "freeze" if frozen else "thaw")


def v2_is_frozen(directory: Path) -> bool:
    try:
        return directory.joinpath("cgroup.freeze").read_text().strip() == "1"
    except OSError:
        return False
