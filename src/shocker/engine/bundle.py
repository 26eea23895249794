"""The container as an OCI bundle: its runtime spec (config.json in the container's
metadata directory) built from the image config, the run options and the network, with the
rootfs it names. Any OCI runtime (`--runtime runc|crun|PATH`) can run it, and `run
--explain` prints it as plain commands.
"""

from __future__ import annotations

from shocker.oci import runtime_spec as rs
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from shocker.store.container_config import ContainerConfig, ResourceLimits
    from shocker.store.containers import ContainerRecord
    from shocker.store.store import Store

_HARDENED = ("nosuid", "noexec", "nodev")

# Docker's masked and read-only paths (moby oci/defaults.go); a '*' is expanded at mount time.
DEFAULT_MASKED_PATHS = (
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
    "/sys/devices/system/cpu/cpu*/thermal_throttle",
)
DEFAULT_READONLY_PATHS = (
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
)

# Docker's mounts of every container (moby oci/defaults.go); /sys/fs/cgroup follows /sys
# (build adds it).
DEFAULT_MOUNTS = (
    rs.Mount(destination="/proc", type="proc", source="proc", options=_HARDENED),
    rs.Mount(destination="/sys", type="sysfs", source="sysfs", options=(*_HARDENED, "ro")),
    rs.Mount(
        destination="/dev",
        type="tmpfs",
        source="tmpfs",
        options=("nosuid", "strictatime", "mode=755", "size=65536k"),
    ),
    rs.Mount(
        destination="/dev/pts",
        type="devpts",
        source="devpts",
        options=("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"),
    ),
    rs.Mount(
        destination="/dev/shm",
        type="tmpfs",
        source="shm",
        options=(*_HARDENED, "mode=1777", "size=65536k"),
    ),
    rs.Mount(destination="/dev/mqueue", type="mqueue", source="mqueue", options=_HARDENED),
)


def build(
    store: Store,
    record: ContainerRecord,
    *,
    network_namespace: str,
    extra_mounts: tuple[rs.Mount, ...],
    cgroups_path: str = "",
    seccomp: rs.Seccomp | None = None,
    user_root: Path | None = None,
    idmapped_root: bool = True,
) -> rs.Spec:
    """The runtime spec of container `record`.

    network_namespace: "new", "host" or a path to join; extra_mounts: the container's
    /etc files, --tmpfs and volumes, as the engine prepared them; seccomp: the container's
    profile when it is not saved yet (else read from its metadata directory); user_root:
    where `-u` is looked up when the container's rootfs does not exist yet (its image's);
    idmapped_root: with a user namespace, root.path is the idmapped bind of the rootfs the
    engine makes for another runtime (shocker's own binds the rootfs itself)."""
    from shocker.runtime.capabilities import ALL_CAPABILITIES
    from shocker.runtime.command import final_env

    config = record.config
    rootfs = store.layout.container_rootfs(record.id)
    root_path = str(rootfs)
    if config.userns and idmapped_root:
        from shocker.runtime.foreign import idmapped_root_path

        root_path = idmapped_root_path(record.id, store.layout.container_dir(record.id))
    identity = resolve_identity(str(user_root or rootfs), config.user or "")
    privileged = config.privileged
    names = ALL_CAPABILITIES if privileged else frozenset(config.capabilities)
    caps = tuple(sorted(names))
    env = final_env(
        (*config.env, f"HOSTNAME={config.hostname}"),
        hostname=config.hostname,
        home=identity.home,
        tty=config.tty,
    )
    process = rs.Process(
        args=config.argv,
        env=tuple(env),
        cwd=config.cwd or "/",
        user=rs.User(uid=identity.uid, gid=identity.gid, additional_gids=identity.groups),
        terminal=config.tty,
        capabilities=rs.Capabilities.same(caps),
        rlimits=rlimits(config.ulimits),
        no_new_privileges=config.no_new_privileges,
    )
    mounts = list(DEFAULT_MOUNTS)
    if privileged:
        mounts[1] = rs.Mount(destination="/sys", type="sysfs", source="sysfs", options=_HARDENED)
    # /sys/fs/cgroup, the container's own cgroup, read-only unless privileged.
    cgroup_options = (*_HARDENED, "rw" if privileged else "ro")
    mounts.insert(
        2,
        rs.Mount(
            destination="/sys/fs/cgroup", type="cgroup", source="cgroup", options=cgroup_options
        ),
    )
    mounts += extra_mounts
    namespaces = [rs.Namespace(type=kind) for kind in ("pid", "ipc", "uts", "mount")]
    sysctl = list(config.sysctls)
    if network_namespace == "new":
        namespaces.append(rs.Namespace(type="network"))
        # As Docker 20.10+, and as shocker's own runtime does.
        sysctl.insert(0, ("net.ipv4.ip_unprivileged_port_start", "0"))
    elif network_namespace != "host":
        namespaces.append(rs.Namespace(type="network", path=network_namespace))
    if config.cgroupns == "private":
        namespaces.append(rs.Namespace(type="cgroup"))
    uid_mappings: tuple[rs.IdMapping, ...] = ()
    gid_mappings: tuple[rs.IdMapping, ...] = ()
    if config.userns:
        # --userns=auto: the runtime makes the user namespace first and the others in it;
        # root.path is an idmapped bind the supervisor makes (runtime/supervisor.py).
        ids = config.userns
        namespaces.append(rs.Namespace(type="user"))
        uid_mappings = (rs.IdMapping(container_id=0, host_id=ids.uid, size=ids.size),)
        gid_mappings = (rs.IdMapping(container_id=0, host_id=ids.gid, size=ids.size),)
    if not config.seccomp:
        seccomp = None
    elif seccomp is None:
        from shocker.engine.security import load_seccomp

        seccomp = load_seccomp(store.layout.container_dir(record.id))
    devices = tuple(
        rs.Device(
            path=d.container_path,
            type=d.kind,
            major=d.major,
            minor=d.minor,
            file_mode=d.mode,
        )
        for d in config.devices
    )
    if privileged:
        devices = (*_host_devices(), *devices)
    return rs.Spec(
        root=rs.Root(path=root_path, readonly=config.read_only),
        process=process,
        hostname=config.hostname,
        mounts=tuple(mounts),
        linux=rs.Linux(
            namespaces=tuple(namespaces),
            uid_mappings=uid_mappings,
            gid_mappings=gid_mappings,
            cgroups_path=cgroups_path,
            resources=_resources(config.limits, _device_rules(config)),
            devices=devices,
            sysctl=tuple((k, v) for k, v in sysctl),
            seccomp=seccomp,
            masked_paths=() if privileged else DEFAULT_MASKED_PATHS,
            readonly_paths=() if privileged else DEFAULT_READONLY_PATHS,
        ),
        annotations=(("org.shocker.container", record.id),),
    )


def _host_devices() -> tuple[rs.Device, ...]:
    """The host's device nodes, made again in a privileged container's /dev (as Docker)."""
    from shocker.runtime.rootfs import host_devices

    return tuple(
        rs.Device(
            path=d.path,
            type="b" if d.is_block else "c",
            major=d.major,
            minor=d.minor,
            file_mode=d.mode,
        )
        for d in host_devices()
    )


def _device_rules(config: ContainerConfig) -> tuple[rs.DeviceRule, ...]:
    """Docker's device cgroup (deny all, the standard nodes, --device ones); when privileged,
    one rule allowing all, as Docker writes it (without a rule runc and crun allow only
    their standard nodes, and the host's listed nodes fail to open)."""
    if config.privileged:
        return (rs.DeviceRule(allow=True),)
    from shocker.cgroups.devices import DEFAULT_RULES

    extra = [
        rs.DeviceRule(allow=True, type=d.kind, major=d.major, minor=d.minor, access=d.access)
        for d in config.devices
    ]
    return (
        *(
            rs.DeviceRule(allow=r.allow, type=r.type, major=r.major, minor=r.minor, access=r.access)
            for r in DEFAULT_RULES
        ),
        *extra,
    )


def rlimits(ulimits: tuple[tuple[int, int, int], ...]) -> tuple[rs.Rlimit, ...]:
    """The container's `--ulimit`s ((resource, soft, hard), -1 unlimited) as the spec's."""
    from shocker.engine.process_options import RLIMITS

    names = {number: name for name, number in RLIMITS.items()}
    unlimited = 2**64 - 1

    def value(limit: int) -> int:
        return unlimited if limit == -1 else limit

    return tuple(
        rs.Rlimit(f"RLIMIT_{names[number].upper()}", value(hard), value(soft))
        for number, soft, hard in ulimits
    )


def _resources(limits: ResourceLimits, devices: tuple[rs.DeviceRule, ...]) -> rs.Resources:
    cores = limits.cpu_quota_cores
    return rs.Resources(
        devices=devices,
        memory=rs.Memory(limit=limits.memory_bytes) if limits.memory_bytes else None,
        cpu=rs.Cpu(
            shares=limits.cpu_shares,
            quota=round(cores * 100_000) if cores else None,
            period=100_000 if cores else None,
        ),
        pids=rs.Pids(limit=limits.pids_max) if limits.pids_max else None,
    )


def resolve_identity(rootfs: str, user: str) -> Any:
    """`-u` against the container's own /etc/passwd and /etc/group, read through
    descriptors inside the rootfs (a symlinked /etc/passwd cannot point at the host's)."""
    from shocker.runtime.users import resolve_user

    return resolve_user(
        user, _read_in_root(rootfs, "/etc/passwd"), _read_in_root(rootfs, "/etc/group")
    )


def _read_in_root(rootfs: str, path: str) -> str:
    import os

    from shocker.linux import inroot

    try:
        root = inroot.open_root(rootfs)
    except OSError:
        return ""
    try:
        fd = inroot.open_in_root(root, path)
        try:
            with open(inroot.fd_path(fd), encoding="utf-8", errors="replace") as f:
                return f.read()
        finally:
            os.close(fd)
    except OSError:
        return ""
    finally:
        os.close(root)


def write(directory: Path, spec: rs.Spec) -> Path:
    """config.json in the container's metadata directory, written atomically."""
    from shocker.store.atomic import write_bytes_atomic

    path = directory / "config.json"
    write_bytes_atomic(path, rs.dumps(spec).encode(), durable=False)
    return path
