"""cgroup v2: one unified hierarchy; controllers are enabled down the parent chain.

Files and semantics: the kernel's Documentation/admin-guide/cgroup-v2.rst.
"""

from __future__ import annotations

from pathlib import Path

from shocker.cgroups import freezer, usage
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
from shocker.cgroups.limits import CFS_PERIOD_US, Limits, quota_us, shares_to_weight
from shocker.errors import CgroupError

CONTROLLERS = ("memory", "cpu", "pids")


def _words(path: Path) -> list[str]:
    try:
        # cgroup.subtree_control reads "memory pids"; a plain file standing in for it may
        # hold what was written ("+memory +pids").
        return [w.lstrip("+") for w in path.read_text().split()]
    except OSError:
        return []


class V2Cgroup:
    """One container's directory in the unified hierarchy."""

    def __init__(self, directory: Path, description: str) -> None:
        self.directory = directory
        self._description = description

    @property
    def path_description(self) -> str:
        return self._description

    def procs_files(self) -> tuple[Path, ...]:
        return (self.directory / "cgroup.procs",)

    def add_process(self, pid: int) -> None:
        add_pid(self.procs_files(), pid)

    def delegate(self, uid: int, gid: int) -> None:
        files = ("cgroup.procs", "cgroup.threads", "cgroup.subtree_control")
        delegate([self.directory], uid, gid, files)

    def oom_killed(self) -> bool:
        return (read_keyed(self.directory / "memory.events", "oom_kill") or 0) > 0

    def memory_usage_bytes(self) -> int | None:
        return read_int(self.directory / "memory.current")

    def pids(self) -> list[int]:
        return read_pids(self.procs_files())

    def freeze(self) -> None:
        freezer.v2_set(self.directory, frozen=True)

    def thaw(self) -> None:
        freezer.v2_set(self.directory, frozen=False)

    def is_frozen(self) -> bool:
        return freezer.v2_is_frozen(self.directory)

    def usage(self) -> usage.CgroupUsage:
        d = self.directory
        cpu = usage.keyed(usage.read_text(d / "cpu.stat"))
        used = usage.number(d / "memory.current")
        if used is not None:
            stat = usage.keyed(usage.read_text(d / "memory.stat"))
            used = usage.without_cache(used, stat, "inactive_file")
        read, write = usage.v2_block_bytes(usage.read_text(d / "io.stat"))
        pids = usage.number(d / "pids.current")
        return usage.CgroupUsage(
            cpu_ns=cpu.get("usage_usec", 0) * 1000,
            memory_bytes=used or 0,
            # "max" reads as no number: no limit.
            memory_limit_bytes=usage.effective_limit(usage.number(d / "memory.max")),
            block_read_bytes=read,
            block_write_bytes=write,
            pids=pids if pids is not None else len(self.pids()),
        )

    def kill_all(self) -> None:
        kill_file = self.directory / "cgroup.kill"
        if kill_file.exists():
            # Linux 5.14+: the kernel kills every task, forks in flight included.
            write(kill_file, "1", "cgroup kill")
        else:
            kill_procs(self.procs_files())

    def remove(self) -> None:
        if not self.directory.exists():
            return
        self.kill_all()
        remove_dirs([self.directory], self.procs_files())

    def apply(self, limits: Limits, controllers: set[str]) -> None:
        swap = (self.directory / "memory.swap.max").exists()
        for path, value, what in self.limit_writes(limits, controllers, swap=swap):
            write(path, value, what)
        if limits.devices is not None:
            from shocker.cgroups.devices import attach_v2

            try:
                attach_v2(str(self.directory), limits.devices)
            except OSError as error:
                raise CgroupError(
                    f"cannot attach the device filter to {self.directory}: {error}"
                ) from None

    def limit_writes(
        self, limits: Limits, controllers: set[str], *, swap: bool
    ) -> list[tuple[Path, str, str]]:
        """The files `apply` writes, in order: (path, value, what it sets). The device rules
        are a BPF program attached after them, not a file."""
        d = self.directory
        writes: list[tuple[Path, str, str]] = []
        if "memory" in controllers and limits.memory_bytes is not None:
            writes.append((d / "memory.max", str(limits.memory_bytes), "memory limit"))
            # No swap beyond the limit unless the spec asks for it (memsw on v1 likewise).
            if swap:
                writes.append((d / "memory.swap.max", _swap_max(limits), "swap limit"))
        if "cpu" in controllers and limits.cpu_shares is not None:
            weight = str(shares_to_weight(limits.cpu_shares))
            writes.append((d / "cpu.weight", weight, "CPU weight"))
        if "cpu" in controllers and limits.cpu_quota_cores is not None:
            period = limits.cpu_period_us or CFS_PERIOD_US
            quota = f"{quota_us(limits.cpu_quota_cores, period)} {period}"
            writes.append((d / "cpu.max", quota, "CPU quota"))
        if "pids" in controllers and limits.pids_max is not None:
            writes.append((d / "pids.max", str(limits.pids_max), "pids limit"))
        return writes


def _swap_max(limits: Limits) -> str:
    """memory.swap.max is swap alone; the spec's swap (and v1's memsw) is memory plus swap."""
    total, memory = limits.memory_swap_bytes, limits.memory_bytes or 0
    if total is None:
        return "0"
    return "max" if total < 0 else str(max(0, total - memory))


class V2Driver:
    """Containers' cgroups under `root`/<parent>/<name>."""

    version = 2

    def __init__(self, root: Path) -> None:
        self.root = root

    def open(self, parent: str, name: str) -> V2Cgroup:
        check_names(parent, name)
        relative = f"{parent}/{name}" if parent else name
        return V2Cgroup(self.root / relative, relative)

    def create(self, parent: str, name: str, limits: Limits) -> V2Cgroup:
        cgroup = self.open(parent, name)
        try:
            cgroup.directory.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CgroupError(f"cannot create cgroup {error.filename}: {error.strerror}") from None
        controllers = self.enable_controllers(parent, limits)
        try:
            cgroup.directory.mkdir(exist_ok=True)
        except OSError as error:
            raise CgroupError(f"cannot create cgroup {error.filename}: {error.strerror}") from None
        try:
            cgroup.apply(limits, controllers)
        except CgroupError:
            cgroup.remove()
            raise
        return cgroup

    def enable_controllers(self, parent: str, limits: Limits) -> set[str]:
        """Enable memory, cpu and pids in subtree_control from the root down to `parent`.

        A child can only use what its parent enabled (cgroup-v2.rst, "Enabling and
        Disabling"). Controllers the host lacks are skipped; one that cannot be enabled is
        skipped too, unless it is memory and a memory limit was asked for.
        """
        available = set(_words(self.root / "cgroup.controllers"))
        wanted = [c for c in CONTROLLERS if c in available]
        chain = [self.root]
        for part in parent.split("/") if parent else []:
            chain.append(chain[-1] / part)
        for directory in chain:
            control = directory / "cgroup.subtree_control"
            current = set(_words(control))
            missing = [c for c in wanted if c not in current]
            if not missing:
                continue
            try:
                write(control, " ".join(f"+{c}" for c in missing), "controllers")
                continue
            except CgroupError:
                pass
            for controller in missing:
                try:
                    write(control, f"+{controller}", f"the {controller} controller")
                except CgroupError as error:
                    if controller == "memory" and limits.memory_bytes is not None:
                        raise CgroupError(f"cannot enable memory limits: {error}") from None
                    wanted.remove(controller)
        return set(wanted)
