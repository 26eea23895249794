"""The cgroup of a `shocker-runtime` container: where the spec's cgroupsPath puts it, the
limits and device rules it gets (v1 devices files, or the driver's v2 device program), and
the binds that show it at /sys/fs/cgroup inside."""

from __future__ import annotations

import os

from shocker.errors import ShockerError
from shocker.static import TYPE_CHECKING

# Paths are strings and the runtime spec is imported only for typing, as in
# shocker.ocicli.container (whose start, state, kill and delete never read config.json).
if TYPE_CHECKING:
    from typing import Any

    from shocker.cgroups.driver import Cgroup
    from shocker.cgroups.limits import Limits
    from shocker.oci import runtime_spec as rs

CGROUP_ROOT = "/sys/fs/cgroup"


def cgroup_location(spec: rs.Spec, container_id: str) -> tuple[str, str]:
    """(parent, name) under each hierarchy: cgroupsPath "/a/b/c" is <hierarchy>/a/b/c on
    v1 and /sys/fs/cgroup/a/b/c on v2; relative paths are taken from the root too."""
    path = spec.linux.cgroups_path
    if ":" in path and not path.startswith("/"):
        raise ShockerError(f"cgroupsPath {path!r}: systemd slices are not supported")
    parts = [p for p in path.split("/") if p] or ["shocker-runtime", container_id]
    return "/".join(parts[:-1]), parts[-1]


def limits_of(resources: rs.Resources | None) -> Limits:
    from shocker.cgroups.limits import Limits

    if resources is None:
        return Limits()
    memory, cpu, pids = resources.memory, resources.cpu, resources.pids
    if cpu is not None and (cpu.cpus or cpu.mems):
        raise ShockerError("linux.resources.cpu: cpus/mems (cpuset) are not supported")
    if memory is not None:
        _refuse_unhonoured(memory)
    cores = None
    if cpu is not None and cpu.quota is not None and cpu.quota > 0:
        cores = cpu.quota / (cpu.period or 100_000)
    return Limits(
        memory_bytes=memory.limit if memory and memory.limit and memory.limit > 0 else None,
        memory_swap_bytes=memory.swap if memory and memory.swap else None,
        cpu_shares=cpu.shares if cpu and cpu.shares else None,
        cpu_quota_cores=cores,
        cpu_period_us=cpu.period if cpu and cores is not None and cpu.period else None,
        pids_max=pids.limit if pids and pids.limit > 0 else None,
    )


def _refuse_unhonoured(memory: rs.Memory) -> None:
    asked = {
        "reservation": memory.reservation is not None,
        "swappiness": memory.swappiness is not None,
        "disableOOMKiller": bool(memory.disable_oom_killer),
    }
    for name, given in asked.items():
        if given:
            raise ShockerError(f"linux.resources.memory.{name} is not supported by this runtime")


def driver() -> Any:
    from pathlib import Path

    from shocker.cgroups import detect

    return detect(Path(CGROUP_ROOT))


def devices_dir(parent: str, name: str) -> str | None:
    """The container's directory in the v1 devices hierarchy (None on v2)."""
    base = os.path.join(CGROUP_ROOT, "devices")
    if not os.path.isdir(base):
        return None
    return os.path.join(base, parent, name) if parent else os.path.join(base, name)


# What runc allows after the spec's own rules: the default devices every container gets
# (runtime-spec config-linux.md), the console and ptys, and mknod of any node.
ALWAYS_ALLOWED: tuple[tuple[str, int | None, int | None, str], ...] = (
    ("c", None, None, "m"),
    ("b", None, None, "m"),
    ("c", 1, 3, "rwm"),
    ("c", 1, 5, "rwm"),
    ("c", 1, 7, "rwm"),
    ("c", 1, 8, "rwm"),
    ("c", 1, 9, "rwm"),
    ("c", 5, 0, "rwm"),
    ("c", 5, 1, "rwm"),
    ("c", 5, 2, "rwm"),
    ("c", 136, None, "rwm"),
)


def device_rules(spec: rs.Spec) -> tuple[rs.DeviceRule, ...]:
    """Deny all, the spec's rules, then the always-allowed ones and its linux.devices
    nodes: as runc, a spec without rules gets only those, not every device."""
    from shocker.oci import runtime_spec as rs

    resources = spec.linux.resources
    rules = resources.devices if resources is not None else ()
    always = tuple(
        rs.DeviceRule(allow=True, type=kind, major=major, minor=minor, access=access)
        for kind, major, minor, access in ALWAYS_ALLOWED
    )
    nodes = tuple(
        rs.DeviceRule(allow=True, type=d.type, major=d.major, minor=d.minor, access="rwm")
        for d in spec.linux.devices
    )
    return (rs.DeviceRule(allow=False), *rules, *always, *nodes)


def cgroup_limits(spec: rs.Spec, *, v1_devices: bool) -> Limits:
    """The spec's limits for the cgroup driver. Without a v1 devices hierarchy (v2) the
    device rules go with them, for the driver's BPF_PROG_TYPE_CGROUP_DEVICE program; on v1
    apply_device_rules writes them."""
    limits = limits_of(spec.linux.resources)
    if v1_devices:
        return limits
    from shocker.cgroups.devices import DeviceRule
    from shocker.record import replace

    rules = tuple(
        DeviceRule(allow=r.allow, type=r.type, major=r.major, minor=r.minor, access=r.access)
        for r in device_rules(spec)
    )
    return replace(limits, devices=rules)


def apply_device_rules(parent: str, name: str, rules: tuple[rs.DeviceRule, ...]) -> None:
    """Device rules in order: v1 devices.deny/devices.allow lines (on v2 they are a BPF
    program, see cgroup_limits)."""
    if not rules:
        return
    directory = devices_dir(parent, name)
    if directory is None:
        raise ShockerError("linux.resources.devices: no v1 devices hierarchy to enforce them")
    try:
        os.makedirs(directory, exist_ok=True)
        for rule in rules:
            major = "*" if rule.major is None else str(rule.major)
            minor = "*" if rule.minor is None else str(rule.minor)
            line = "a" if rule.type == "a" else f"{rule.type} {major}:{minor} {rule.access}"
            leaf = "devices.allow" if rule.allow else "devices.deny"
            with open(os.path.join(directory, leaf), "w") as f:
                f.write(line)
    except OSError as error:
        raise ShockerError(f"cgroup devices: {error.filename}: {error.strerror}") from None


def cgroup_binds(cgroup: Cgroup, parent: str, name: str) -> list[tuple[str, str]]:
    """For a "cgroup" mount: (container path, host directory) of the container's own
    cgroup in every hierarchy it has one in (v2: the one directory)."""
    from pathlib import Path

    top = Path(CGROUP_ROOT)
    if (top / "cgroup.controllers").exists():
        return [("/sys/fs/cgroup", str(top / parent / name))]
    binds = []
    for entry in sorted(top.iterdir()):
        if entry.is_symlink() or not entry.is_dir():
            continue
        own = entry / parent / name
        if own.is_dir():
            binds.append((f"/sys/fs/cgroup/{entry.name}", str(own)))
    return binds


def remove_devices(parent: str, name: str) -> None:
    directory = devices_dir(parent, name)
    if directory is not None:
        try:
            os.rmdir(directory)
        except OSError:
            pass
