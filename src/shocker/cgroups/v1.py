"""cgroup v1: one directory per controller hierarchy (memory, cpu, pids), one file per limit.

Files and semantics: the kernel's Documentation/admin-guide/cgroup-v1/{memory,cgroups}.rst,
sched-bwc.rst (CFS bandwidth) and pids.rst.
"""

from __future__ import annotations

from pathlib import Path

from shocker.cgroups import freezer, usage
from shocker.cgroups.devices import v1_lines
from shocker.cgroups.driver import (
    add_pid,
    check_names,
    delegate,
    kill_procs,
    read_int,
    read_keyed,
    read_pids,
    remove_dirs,
    write,
)
from shocker.cgroups.limits import CFS_PERIOD_US, Limits, quota_us
from shocker.errors import CgroupError

# What we limit, and what is joined without limits: the freezer for `pause`, cpuacct and
# blkio for `stats`. cpuset and the rest keep the caller's cgroup.
LIMITED = ("memory", "cpu", "pids", "devices")
CONTROLLERS = (*LIMITED, "cpuacct", "blkio", "freezer")


def hierarchies(root: Path) -> dict[str, Path]:
    """controller -> its hierarchy's directory, whatever the mount layout.

    Each hierarchy is mounted under a name listing its controllers ("memory",
    "cpu,cpuacct"), often with a symlink per controller beside it; one listdir covers all.
    """
    try:
        # Co-mounted names first: "cpu" and "cpuacct" symlinks then map to the same
        # "cpu,cpuacct" directory, joined once.
        entries = sorted(root.iterdir(), key=lambda e: ("," not in e.name, e.name))
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

    def delegate(self, uid: int, gid: int) -> None:
        delegate(self._unique_dirs(), uid, gid, ("cgroup.procs", "tasks"))

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

    def freeze(self) -> None:
        freezer.v1_set(self.dirs.get("freezer"), frozen=True)

    def thaw(self) -> None:
        freezer.v1_set(self.dirs.get("freezer"), frozen=False)

    def is_frozen(self) -> bool:
        return freezer.v1_is_frozen(self.dirs.get("freezer"))

    def usage(self) -> usage.CgroupUsage:
        memory, cpuacct, blkio, pids = (
            self.dirs.get(c) for c in ("memory", "cpuacct", "blkio", "pids")
        )
        used = limit = None
        if memory is not None:
            stat = usage.keyed(usage.read_text(memory / "memory.stat"))
            used = usage.number(memory / "memory.usage_in_bytes")
            used = None if used is None else usage.without_cache(used, stat, "total_inactive_file")
            limit = usage.number(memory / "memory.limit_in_bytes")
        read = write = 0
        if blkio is not None:
            # The throttle files count every I/O; the CFQ ones only with that scheduler.
            text = usage.read_text(blkio / "blkio.throttle.io_service_bytes_recursive")
            read, write = usage.v1_block_bytes(
                text or usage.read_text(blkio / "blkio.throttle.io_service_bytes")
            )
        return usage.CgroupUsage(
            cpu_ns=(usage.number(cpuacct / "cpuacct.usage") or 0) if cpuacct else 0,
            memory_bytes=used or 0,
            memory_limit_bytes=usage.effective_limit(limit),
            block_read_bytes=read,
            block_write_bytes=write,
            pids=(usage.number(pids / "pids.current") or 0) if pids else len(self.pids()),
        )

    def kill_all(self) -> None:
        if self.is_frozen():
            # A frozen task cannot die: thawed, the SIGKILLs already queued take it.
            kill_procs(self.procs_files())
            self.thaw()
        kill_procs(self.procs_files())

    def remove(self) -> None:
        if self.is_frozen():
            self.kill_all()
        remove_dirs(self._unique_dirs(), self.procs_files())

    def apply(self, limits: Limits, *, memsw: bool) -> None:
        if limits.devices is not None and self.dirs.get("devices") is None:
            raise CgroupError("cannot restrict devices: no devices hierarchy is mounted")
        for path, value, what in self.limit_writes(limits, memsw=memsw):
            write(path, value, what)

    def limit_writes(self, limits: Limits, *, memsw: bool) -> list[tuple[Path, str, str]]:
        """The files `apply` writes, in order: (path, value, what it sets)."""
        memory, cpu, pids, devices = (self.dirs.get(c) for c in LIMITED)
        writes: list[tuple[Path, str, str]] = []
        if memory is not None and limits.memory_bytes is not None:
            value = str(limits.memory_bytes)
            writes.append((memory / "memory.limit_in_bytes", value, "memory limit"))
            # memsw is memory+swap: equal to the limit, the container is OOM-killed
            # instead of swapping (present only with swap accounting on).
            if memsw:
                swap = limits.memory_swap_bytes
                total = value if swap is None else str(swap)
                writes.append((memory / "memory.memsw.limit_in_bytes", total, "memory+swap limit"))
        if cpu is not None and limits.cpu_shares is not None:
            writes.append((cpu / "cpu.shares", str(limits.cpu_shares), "CPU shares"))
        if cpu is not None and limits.cpu_quota_cores is not None:
            period = limits.cpu_period_us or CFS_PERIOD_US
            writes.append((cpu / "cpu.cfs_period_us", str(period), "CPU period"))
            quota = str(quota_us(limits.cpu_quota_cores, period))
            writes.append((cpu / "cpu.cfs_quota_us", quota, "CPU quota"))
        if pids is not None and limits.pids_max is not None:
            writes.append((pids / "pids.max", str(limits.pids_max), "pids limit"))
        if limits.devices is not None and devices is not None:
            for name, line in v1_lines(limits.devices):
                writes.append((devices / name, line, "device rules"))
        return writes


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

    def swap_accounting(self) -> bool:
        """memory+swap limits exist (the hierarchy's root shows the files every cgroup has)."""
        if self._hierarchies is None:
            self._hierarchies = hierarchies(self.root)
        memory = self._hierarchies.get("memory")
        return memory is not None and (memory / "memory.memsw.limit_in_bytes").exists()

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
            cgroup.apply(limits, memsw=self.swap_accounting())
        except CgroupError:
            cgroup.remove()
            raise
        return cgroup
