"""cgroup v1: one directory per controller hierarchy (memory, cpu, pids), one file per limit.

Files and semantics: the kernel's Documentation/admin-guide/cgroup-v1/{memory,cgroups}.rst,
sched-bwc.rst (CFS bandwidth) and pids.rst.
"""

from __future__ import annotations

from pathlib import Path

from shocker.cgroups.driver import (
    add_pid,
    check_names,
    kill_procs,
    read_int,
    read_keyed,
    read_pids,
    remove_dirs,
    write,
)
from shocker.cgroups.limits import CFS_PERIOD_US, Limits, quota_us
from shocker.errors import CgroupError

# Only what we limit is joined; cpuacct, freezer and the rest keep the caller's cgroup.
CONTROLLERS = ("memory", "cpu", "pids")


def hierarchies(root: Path) -> dict[str, Path]:
    """controller -> its hierarchy's directory, whatever the mount layout.

    Each hierarchy is mounted under a name listing its controllers ("memory",
    "cpu,cpuacct"), often with a symlink per controller beside it; one listdir covers all.
    """
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return {}
    found: dict[str, Path] = {}
    for entry in entries:
        for controller in entry.name.split(","):
            if controller in CONTROLLERS and controller not in found:
                found[controller] = entry
    return found


class V1Cgroup:
    """One container's directory in each limited hierarchy."""

    def __init__(self, dirs: dict[str, Path], description: str) -> None:
        self.dirs = dirs
        self._description = description

    @property
    def path_description(self) -> str:
        return self._description

    def _unique_dirs(self) -> list[Path]:
        # Two controllers co-mounted in one hierarchy ("cpu,memory") share a directory.
        return list(dict.fromkeys(self.dirs.values()))

    def procs_files(self) -> tuple[Path, ...]:
        return tuple(d / "cgroup.procs" for d in self._unique_dirs())

    def add_process(self, pid: int) -> None:
        add_pid(self.procs_files(), pid)

    def oom_killed(self) -> bool:
        memory = self.dirs.get("memory")
        if memory is None:
            return False
        # "oom_kill" counts kills in memory.oom_control since Linux 4.13; before it, a
        # cgroup that hit its limit and is or was under OOM is the closest evidence.
        kills = read_keyed(memory / "memory.oom_control", "oom_kill")
        if kills is not None:
            return kills > 0
        under_oom = read_keyed(memory / "memory.oom_control", "under_oom") or 0
        return under_oom > 0 or (read_int(memory / "memory.failcnt") or 0) > 0

    def memory_usage_bytes(self) -> int | None:
        memory = self.dirs.get("memory")
        return None if memory is None else read_int(memory / "memory.usage_in_bytes")

    def pids(self) -> list[int]:
        return read_pids(self.procs_files())

    def kill_all(self) -> None:
        kill_procs(self.procs_files())

    def remove(self) -> None:
        remove_dirs(self._unique_dirs(), self.procs_files())

    def apply(self, limits: Limits, *, memsw: bool) -> None:
        memory, cpu, pids = (self.dirs.get(c) for c in CONTROLLERS)
        if memory is not None and limits.memory_bytes is not None:
            value = str(limits.memory_bytes)
            write(memory / "memory.limit_in_bytes", value, "memory limit")
            # memsw is memory+swap: equal to the limit, the container is OOM-killed
            # instead of swapping (present only with swap accounting on).
            if memsw:
                write(memory / "memory.memsw.limit_in_bytes", value, "memory+swap limit")
        if cpu is not None and limits.cpu_shares is not None:
            write(cpu / "cpu.shares", str(limits.cpu_shares), "CPU shares")
        if cpu is not None and limits.cpu_quota_cores is not None:
            write(cpu / "cpu.cfs_period_us", str(CFS_PERIOD_US), "CPU period")
            write(cpu / "cpu.cfs_quota_us", str(quota_us(limits.cpu_quota_cores)), "CPU quota")
        if pids is not None and limits.pids_max is not None:
            write(pids / "pids.max", str(limits.pids_max), "pids limit")


class V1Driver:
    """Containers' cgroups under `root`/<hierarchy>/<parent>/<name>."""

    version = 1

    def __init__(self, root: Path) -> None:
        self.root = root
        self._hierarchies: dict[str, Path] | None = None

    def _cgroup(self, parent: str, name: str) -> V1Cgroup:
        check_names(parent, name)
        if self._hierarchies is None:
            self._hierarchies = hierarchies(self.root)
        relative = f"{parent}/{name}" if parent else name
        dirs = {c: h / relative for c, h in self._hierarchies.items()}
        return V1Cgroup(dirs, relative)

    def open(self, parent: str, name: str) -> V1Cgroup:
        return self._cgroup(parent, name)

    def create(self, parent: str, name: str, limits: Limits) -> V1Cgroup:
        cgroup = self._cgroup(parent, name)
        if not cgroup.dirs:
            raise CgroupError(
                f"cannot create cgroup {cgroup.path_description}: no memory, cpu or pids "
                f"hierarchy is mounted under {self.root}"
            )
        try:
            for directory in cgroup.dirs.values():
                # parents=True, exist_ok=True: concurrent runs create the parent together.
                directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            cgroup.remove()
            raise CgroupError(f"cannot create cgroup {error.filename}: {error.strerror}") from None
        try:
            memory = self._hierarchies.get("memory") if self._hierarchies else None
            # The hierarchy's root shows the same files as every cgroup below it.
            memsw = memory is not None and (memory / "memory.memsw.limit_in_bytes").exists()
            cgroup.apply(limits, memsw=memsw)
        except CgroupError:
            cgroup.remove()
            raise
        return cgroup
