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

    from shocker.runtime.spec import Mount
    from shocker.store.containers import ContainerRecord
    from shocker.store.store import Store

_HARDENED = ("nosuid", "noexec", "nodev")

# Docker's mounts of every container (moby oci/defaults.go), in mount order.
DEFAULT_MOUNTS = (
    rs.Mount(destination="/proc", type="proc", source="proc", options=_HARDENED),
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
    rs.Mount(destination="/sys", type="sysfs", source="sysfs", options=(*_HARDENED, "ro")),
    rs.Mount(destination="/dev/mqueue", type="mqueue", source="mqueue", options=_HARDENED),
    rs.Mount(
        destination="/dev/shm",
        type="tmpfs",
        source="shm",
        options=(*_HARDENED, "mode=1777", "size=65536k"),
    ),
)


def build(
    store: Store,
    record: ContainerRecord,
    *,
    network_namespace: str,
    extra_mounts: tuple[Mount, ...],
    cgroups_path: str = "",
) -> rs.Spec:
    """The runtime spec of container `record`.

    network_namespace: "new", "host" or a path to join; extra_mounts: the container's
    /etc files and volumes, as the engine prepared them."""
    from shocker.runtime.capabilities import ALL_CAPABILITIES
    from shocker.runtime.spec import DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, final_env

    config: dict[str, Any] = record.config
    rootfs = store.layout.container_rootfs(record.id)
    identity = resolve_identity(str(rootfs), config["user"] or "")
    privileged = bool(config["privileged"])
    names = ALL_CAPABILITIES if privileged else frozenset(config["capabilities"])
    caps = tuple(sorted(names))
    env = final_env(
        (*config["env"], f"HOSTNAME={config['hostname']}"),
        hostname=config["hostname"],
        home=identity.home,
        tty=bool(config["tty"]),
    )
    process = rs.Process(
        args=tuple(config["argv"]),
        env=tuple(env),
        cwd=config["cwd"] or "/",
        user=rs.User(uid=identity.uid, gid=identity.gid, additional_gids=identity.groups[1:]),
        terminal=bool(config["tty"]),
        capabilities=rs.Capabilities.same(caps),
        no_new_privileges=not privileged,
    )
    mounts = list(DEFAULT_MOUNTS)
    if privileged:
        mounts[3] = rs.Mount(destination="/sys", type="sysfs", source="sysfs", options=_HARDENED)
    for mount in extra_mounts:
        options = ["rbind", "ro" if mount.readonly else "rw"]
        mounts.append(
            rs.Mount(
                destination=mount.destination,
                type="bind",
                source=mount.source,
                options=tuple(options),
            )
        )
    namespaces = [rs.Namespace(type=kind) for kind in ("pid", "ipc", "uts", "mount")]
    if network_namespace == "new":
        namespaces.append(rs.Namespace(type="network"))
    elif network_namespace != "host":
        namespaces.append(rs.Namespace(type="network", path=network_namespace))
    return rs.Spec(
        root=rs.Root(path=str(rootfs)),
        process=process,
        hostname=config["hostname"],
        mounts=tuple(mounts),
        linux=rs.Linux(
            namespaces=tuple(namespaces),
            cgroups_path=cgroups_path,
            resources=_resources(config["limits"]),
            masked_paths=() if privileged else DEFAULT_MASKED_PATHS,
            readonly_paths=() if privileged else DEFAULT_READONLY_PATHS,
        ),
        annotations=(("org.shocker.container", record.id),),
    )


def _resources(limits: dict[str, Any]) -> rs.Resources:
    cores = limits.get("cpu_quota_cores")
    return rs.Resources(
        memory=rs.Memory(limit=limits["memory_bytes"]) if limits.get("memory_bytes") else None,
        cpu=rs.Cpu(
            shares=limits.get("cpu_shares"),
            quota=round(cores * 100_000) if cores else None,
            period=100_000 if cores else None,
        ),
        pids=rs.Pids(limit=limits["pids_max"]) if limits.get("pids_max") else None,
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
