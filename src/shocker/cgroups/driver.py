"""The interface both cgroup versions implement; the engine sees only this."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from shocker.cgroups.limits import Limits
from shocker.errors import CgroupError


class Cgroup(Protocol):
    @property
    def path_description(self) -> str: ...

    def procs_files(self) -> tuple[Path, ...]: ...

    def add_process(self, pid: int) -> None: ...

    def oom_killed(self) -> bool: ...

    def memory_usage_bytes(self) -> int | None: ...

    def pids(self) -> list[int]: ...

    def kill_all(self) -> None: ...

    def remove(self) -> None: ...


class CgroupDriver(Protocol):
    version: int

    def create(self, parent: str, name: str, limits: Limits) -> Cgroup: ...

    def open(self, parent: str, name: str) -> Cgroup: ...


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


def read_pids(procs: Iterable[Path]) -> list[int]:
    found: set[int] = set()
    for path in procs:
        try:
            found.update(int(line) for line in path.read_text().split())
        except OSError:
            continue
    return sorted(found)


def remove_dirs(directories: Iterable[Path], procs: Iterable[Path]) -> None:
    """Kill what is left, then rmdir each directory (retrying while the kernel reaps)."""
    directories = [d for d in directories if d.exists()]
    if not directories:
        return
    deadline = time.monotonic() + 5
    while True:
        for pid in read_pids(procs):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        busy = []
        for directory in directories:
            try:
                directory.rmdir()
            except FileNotFoundError:
                pass
            except OSError as error:
                busy.append((directory, error))
        if not busy:
            return
        if time.monotonic() > deadline:
            stuck, reason = busy[0]
            raise CgroupError(f"cannot remove cgroup {stuck}: {reason.strerror}")
        directories = [d for d, _ in busy]
        time.sleep(0.01)
