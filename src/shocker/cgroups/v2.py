"""cgroup v2: one unified hierarchy; controllers enabled down the parent chain."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from shocker.cgroups.driver import read_int, read_pids, remove_dirs, write
from shocker.cgroups.limits import CFS_PERIOD_US, Limits, quota_us, shares_to_weight

CONTROLLERS = ("memory", "cpu", "pids")


class V2Cgroup:
    def __init__(self, directory: Path, description: str) -> None:
        self.directory = directory
        self.description = description

    @property
    def path_description(self) -> str:
        return self.description

    def procs_files(self) -> tuple[Path, ...]:
        return (self.directory / "cgroup.procs",)

    def add_process(self, pid: int) -> None:
        write(self.directory / "cgroup.procs", str(pid), "the container's cgroup")

    def _events(self, name: str) -> dict[str, int]:
        try:
            text = (self.directory / name).read_text()
        except OSError:
            return {}
        pairs = (line.split() for line in text.splitlines())
        return {p[0]: int(p[1]) for p in pairs if len(p) == 2 and p[1].isdigit()}

    def oom_killed(self) -> bool:
        return self._events("memory.events").get("oom_kill", 0) > 0

    def memory_usage_bytes(self) -> int | None:
        return read_int(self.directory / "memory.current")

    def pids(self) -> list[int]:
        return read_pids(self.procs_files())

    def kill_all(self) -> None:
        kill = self.directory / "cgroup.kill"
        if kill.exists():
            write(kill, "1", "cgroup.kill")
            return
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def remove(self) -> None:
        if (self.directory / "cgroup.kill").exists() and self.pids():
            self.kill_all()
        remove_dirs([self.directory], self.procs_files())


class V2Driver:
    version = 2

    def __init__(self, root: Path) -> None:
        self.root = root

    def open(self, parent: str, name: str) -> V2Cgroup:
        return V2Cgroup(self.root / parent / name, f"{parent}/{name}")

    def create(self, parent: str, name: str, limits: Limits) -> V2Cgroup:
        cgroup = self.open(parent, name)
        self._prepare_parents(Path(parent))
        cgroup.directory.mkdir(exist_ok=True)
        try:
            self._apply(cgroup.directory, limits)
        except BaseException:
            cgroup.remove()
            raise
        return cgroup

    def _prepare_parents(self, parent: Path) -> None:
        """mkdir the parent chain and delegate our controllers down to the leaf's parent."""
        level = self.root
        for part in ("", *parent.parts):
            if part:
                level = level / part
                level.mkdir(exist_ok=True)
            available = _words(level / "cgroup.controllers")
            enabled = _words(level / "cgroup.subtree_control")
            for controller in CONTROLLERS:
                if controller in available and controller not in enabled:
                    try:
                        write(level / "cgroup.subtree_control", f"+{controller}", controller)
                    except Exception:
                        continue

    @staticmethod
    def _apply(directory: Path, limits: Limits) -> None:
        if limits.memory_bytes is not None and (directory / "memory.max").exists():
            write(directory / "memory.max", str(limits.memory_bytes), "memory limit")
            if (directory / "memory.swap.max").exists():
                write(directory / "memory.swap.max", "0", "swap limit")
        if (directory / "cpu.weight").exists():
            if limits.cpu_shares is not None:
                weight = shares_to_weight(limits.cpu_shares)
                write(directory / "cpu.weight", str(weight), "CPU weight")
            if limits.cpu_quota_cores is not None:
                quota = quota_us(limits.cpu_quota_cores)
                write(directory / "cpu.max", f"{quota} {CFS_PERIOD_US}", "CPU quota")
        if (directory / "pids.max").exists():
            value = "max" if limits.pids_max is None else str(limits.pids_max)
            write(directory / "pids.max", value, "pids limit")


def _words(path: Path) -> set[str]:
    try:
        return set(path.read_text().split())
    except OSError:
        return set()
