"""cgroup v1: one directory per controller hierarchy (memory, cpu, pids)."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from shocker.cgroups.driver import read_int, read_pids, remove_dirs, write
from shocker.cgroups.limits import CFS_PERIOD_US, Limits, quota_us

# Controllers shocker limits; a hierarchy may combine several (cpu,cpuacct).
CONTROLLERS = ("memory", "cpu", "pids")


class V1Cgroup:
    def __init__(self, directories: dict[str, Path], description: str) -> None:
        self.directories = directories  # controller -> this cgroup's directory
        self.description = description

    @property
    def path_description(self) -> str:
        return self.description

    def _unique_dirs(self) -> list[Path]:
        seen: dict[str, Path] = {}
        for directory in self.directories.values():
            seen.setdefault(os.path.realpath(directory), directory)
        return list(seen.values())

    def procs_files(self) -> tuple[Path, ...]:
        return tuple(d / "cgroup.procs" for d in self._unique_dirs())

    def add_process(self, pid: int) -> None:
        for path in self.procs_files():
            write(path, str(pid), "the container's cgroup")

    def oom_killed(self) -> bool:
        memory = self.directories.get("memory")
        if memory is None:
            return False
        try:
            text = (memory / "memory.oom_control").read_text()
        except OSError:
            return False
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value) > 0
        return False

    def memory_usage_bytes(self) -> int | None:
        memory = self.directories.get("memory")
        return read_int(memory / "memory.usage_in_bytes") if memory else None

    def pids(self) -> list[int]:
        return read_pids(self.procs_files())

    def kill_all(self) -> None:
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def remove(self) -> None:
        remove_dirs(self._unique_dirs(), self.procs_files())


class V1Driver:
    version = 1

    def __init__(self, root: Path) -> None:
        self.root = root

    def _hierarchies(self) -> dict[str, Path]:
        """controller -> its hierarchy's mount directory, for those mounted."""
        return {c: self.root / c for c in CONTROLLERS if (self.root / c / "cgroup.procs").exists()}

    def open(self, parent: str, name: str) -> V1Cgroup:
        dirs = {c: h / parent / name for c, h in self._hierarchies().items()}
        return V1Cgroup(dirs, f"{parent}/{name}")

    def create(self, parent: str, name: str, limits: Limits) -> V1Cgroup:
        cgroup = self.open(parent, name)
        try:
            for directory in cgroup._unique_dirs():
                directory.parent.mkdir(parents=True, exist_ok=True)
                directory.mkdir(exist_ok=True)
            self._apply(cgroup.directories, limits)
        except BaseException:
            cgroup.remove()
            raise
        return cgroup

    @staticmethod
    def _apply(dirs: dict[str, Path], limits: Limits) -> None:
        memory = dirs.get("memory")
        if memory is not None and limits.memory_bytes is not None:
            write(memory / "memory.limit_in_bytes", str(limits.memory_bytes), "memory limit")
            swap = memory / "memory.memsw.limit_in_bytes"
            if swap.exists():
                # Same as the memory limit: over it the container is OOM-killed, not swapped.
                write(swap, str(limits.memory_bytes), "memory+swap limit")
        cpu = dirs.get("cpu")
        if cpu is not None:
            if limits.cpu_shares is not None:
                write(cpu / "cpu.shares", str(limits.cpu_shares), "CPU shares")
            if limits.cpu_quota_cores is not None:
                write(cpu / "cpu.cfs_period_us", str(CFS_PERIOD_US), "CPU period")
                write(cpu / "cpu.cfs_quota_us", str(quota_us(limits.cpu_quota_cores)), "CPU quota")
        pids = dirs.get("pids")
        if pids is not None:
            value = "max" if limits.pids_max is None else str(limits.pids_max)
            write(pids / "pids.max", value, "pids limit")
