"""The interface both cgroup versions implement; the engine sees only this."""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Iterable
from pathlib import Path

from shocker.cgroups.limits import Limits
from shocker.errors import CgroupError
from shocker.leancontext import suppress
from shocker.static import TYPE_CHECKING

# The interfaces exist for the type checker only: typing costs ~3 ms at start-up.
if TYPE_CHECKING:
    import signal
    from typing import Protocol

    from shocker.cgroups.usage import CgroupUsage

    class Cgroup(Protocol):
        @property
        def path_description(self) -> str: ...

        def procs_files(self) -> tuple[Path, ...]: ...

        def add_process(self, pid: int) -> None: ...

        def delegate(self, uid: int, gid: int) -> None:
            """Hand the cgroup to a container's root in its user namespace (host ids)."""

        def oom_killed(self) -> bool: ...

        def memory_usage_bytes(self) -> int | None: ...

        def pids(self) -> list[int]: ...

        def freeze(self) -> None:
            """Stop every task (pause); returns once the kernel reports them all frozen."""

        def thaw(self) -> None:
            """Let frozen tasks run again (unpause)."""

        def is_frozen(self) -> bool: ...

        def usage(self) -> CgroupUsage: ...

        def kill_all(self) -> None:
            """SIGKILL every task, frozen ones included."""

        def remove(self) -> None: ...

    class CgroupDriver(Protocol):
        version: int

        def create(self, parent: str, name: str, limits: Limits) -> Cgroup: ...

        def open(self, parent: str, name: str) -> Cgroup: ...
else:
    import _signal as signal  # signal's C part, without its enums: see shocker.static


def check_names(parent: str, name: str) -> None:
    """Refuse names that would leave the cgroup root or collide with cgroupfs' own files."""
    parts = [*parent.split("/"), name] if parent else [name]
    if "/" in name or any(not p or p in (".", "..") or p.startswith("cgroup.") for p in parts):
        raise CgroupError(f"invalid cgroup name '{parent}/{name}'")


def delegate(directories: Iterable[Path], uid: int, gid: int, files: Iterable[str]) -> None:
    """Delegation as cgroups(7) describes it: the directory and the files that move
    processes and enable controllers belong to the delegatee; limits stay root's."""
    names = tuple(files)
    for directory in directories:
        for path in (directory, *(directory / n for n in names)):
            try:
                os.chown(path, uid, gid)
            except FileNotFoundError:
                continue
            except OSError as error:
                raise CgroupError(f"cannot delegate {path}: {error.strerror}") from None


def write(path: Path, value: str, what: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError as error:
        raise CgroupError(f"cannot set {what} ({path}): {error.strerror}") from None


def read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.lstrip("-").isdigit() else None


def read_keyed(path: Path, key: str) -> int | None:
    """The number after `key` in a flat keyed file (memory.events, memory.oom_control)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        field, _, value = line.partition(" ")
        if field == key and value.strip().isdigit():
            return int(value)
    return None


def read_pids(procs: Iterable[Path]) -> list[int]:
    found: set[int] = set()
    for path in procs:
        try:
            found.update(int(line) for line in path.read_text().split())
        except OSError:
            continue
    return sorted(found)


def add_pid(procs: Iterable[Path], pid: int) -> None:
    for path in procs:
        try:
            with open(path, "w") as f:
                f.write(str(pid))
        except OSError as error:
            raise CgroupError(
                f"cannot add process {pid} to cgroup {path.parent}: {error.strerror}"
            ) from None


def kill_procs(procs: Iterable[Path]) -> None:
    """SIGKILL whatever the procs files list, again while forks add new pids.

    Killed tasks leave cgroup.procs as they exit (cgroups(7)), so a pid seen twice is
    one still dying, not one to kill again; the round limit bounds a racing fork bomb,
    which the pids limit already bounds in size.
    """
    procs = list(procs)
    killed: set[int] = set()
    for _ in range(100):
        fresh = set(read_pids(procs)) - killed
        if not fresh:
            return
        for pid in fresh:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        killed |= fresh


def remove_dirs(directories: Iterable[Path], procs: Iterable[Path]) -> None:
    """Kill what is left, then rmdir each directory (retrying while the kernel reaps).

    Cgroups the container made below its own (a privileged one running containers itself)
    go first, their processes killed too: a cgroup with children cannot be removed."""
    directories = [d for d in directories if d.exists()]
    nested = [
        Path(below)
        for directory in directories
        for below, _, _ in os.walk(directory, topdown=False)
        if below != str(directory)
    ]
    procs = [*procs, *(d / "cgroup.procs" for d in nested)]
    directories = [*nested, *directories]
    deadline = time.monotonic() + 5
    while directories:
        kill_procs(procs)
        busy = []
        for directory in directories:
            try:
                directory.rmdir()
            except FileNotFoundError:
                pass
            except OSError as error:
                if error.errno == errno.ENOTEMPTY:
                    # cgroupfs answers EBUSY, never ENOTEMPTY: this is a plain directory
                    # standing in for one (a root pointed elsewhere): empty it of files.
                    _remove_files(directory)
                busy.append((directory, error))
        if busy and time.monotonic() > deadline:
            stuck, reason = busy[0]
            raise CgroupError(f"cannot remove cgroup {stuck}: {reason.strerror}")
        directories = [d for d, _ in busy]
        if directories:
            time.sleep(0.005)


def _remove_files(directory: Path) -> None:
    for entry in directory.iterdir():
        if entry.is_symlink() or not entry.is_dir():
            entry.unlink(missing_ok=True)
