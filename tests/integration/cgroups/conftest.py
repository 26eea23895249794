"""A test-specific cgroup parent on the host's real hierarchies, removed after each test."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.prereqs import require

CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup2_mount() -> Path | None:
    """Where a cgroup2 filesystem is mounted, from /proc/self/mountinfo (proc(5))."""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields, _, tail = line.partition(" - ")
        if tail.split(" ", 1)[0] == "cgroup2":
            return Path(fields.split()[4])
    return None


def purge(tree: Path) -> None:
    """Kill every process under `tree` and rmdir it bottom-up, whatever the test left."""
    if not tree.is_dir():
        return
    deadline = time.monotonic() + 10
    while tree.exists():
        for procs in tree.rglob("cgroup.procs"):
            for pid in procs.read_text().split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
        for directory in sorted((p for p in tree.rglob("*") if p.is_dir()), reverse=True):
            with contextlib.suppress(OSError):
                directory.rmdir()
        try:
            tree.rmdir()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@pytest.fixture
def parent_name() -> str:
    return f"shocker-test-{secrets.token_hex(3)}"


@pytest.fixture
def v1_parent(parent_name: str) -> Iterator[str]:
    """A parent name under the real v1 hierarchies; everything below it goes afterwards."""
    require(os.geteuid() == 0, "cgroup tests need root")
    require(
        not (CGROUP_ROOT / "cgroup.controllers").exists() and (CGROUP_ROOT / "memory").is_dir(),
        f"{CGROUP_ROOT} is not a cgroup v1 layout with a memory hierarchy",
    )
    try:
        yield parent_name
    finally:
        for hierarchy in CGROUP_ROOT.iterdir():
            if not hierarchy.is_symlink():
                purge(hierarchy / parent_name)


@pytest.fixture
def v2_root(parent_name: str) -> Iterator[Path]:
    """The host's real cgroup2 mount; the test's parent below it goes afterwards."""
    require(os.geteuid() == 0, "cgroup tests need root")
    mount = cgroup2_mount()
    require(mount is not None, "no cgroup2 filesystem is mounted on this host")
    assert mount is not None
    try:
        yield mount
    finally:
        purge(mount / parent_name)
