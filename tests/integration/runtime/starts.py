"""What runtime tests start: a runtime spec shaped as the engine builds it (engine/bundle.py:
Docker's mounts, capabilities, masked paths, namespaces) for a rootfs in a tmp dir, and the
host side of the start."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from shocker.engine.bundle import (
    DEFAULT_MASKED_PATHS,
    DEFAULT_MOUNTS,
    DEFAULT_READONLY_PATHS,
    resolve_identity,
)
from shocker.oci import runtime_spec as rs
from shocker.runtime.capabilities import ALL_CAPABILITIES, DEFAULT_CAPABILITIES
from shocker.runtime.command import final_env
from shocker.runtime.hostside import HostSide, LogSettings

HOSTNAME = "ps-7e57a"


class Start(NamedTuple):
    spec: rs.Spec
    host: HostSide

    @property
    def rootfs(self) -> Path:
        return Path(self.spec.root.path)


def bind(source: str, destination: str, *, readonly: bool = False) -> rs.Mount:
    """A bind as the engine makes one for a volume or an /etc file."""
    options = ("rbind", "ro" if readonly else "rw")
    return rs.Mount(destination=destination, type="bind", source=source, options=options)


def container(
    rootfs: Path,
    log_path: Path,
    *argv: str,
    env: tuple[str, ...] = ("PATH=/bin",),
    cwd: str = "/",
    user: str = "",
    tty: bool = False,
    interactive: bool = False,
    mounts: tuple[rs.Mount, ...] = (),
    network: str = "new",
    privileged: bool = False,
    rlimits: tuple[rs.Rlimit, ...] = (),
) -> Start:
    """network: "new", "host" or a netns path to join. `user` is resolved as the engine
    does, so an unknown one raises RuntimeFailure here."""
    identity = resolve_identity(str(rootfs), user)
    names = ALL_CAPABILITIES if privileged else DEFAULT_CAPABILITIES
    process = rs.Process(
        args=argv,
        env=tuple(
            final_env(
                (*env, f"HOSTNAME={HOSTNAME}"), hostname=HOSTNAME, home=identity.home, tty=tty
            )
        ),
        cwd=cwd,
        user=rs.User(uid=identity.uid, gid=identity.gid, additional_gids=identity.groups),
        terminal=tty,
        capabilities=rs.Capabilities.same(tuple(sorted(names))),
        rlimits=rlimits,
        no_new_privileges=True,
    )
    cgroup = ("nosuid", "noexec", "nodev", "rw" if privileged else "ro")
    defaults = list(DEFAULT_MOUNTS)
    if privileged:
        defaults[1] = rs.Mount(
            destination="/sys", type="sysfs", source="sysfs", options=("nosuid", "noexec", "nodev")
        )
    defaults.insert(2, rs.Mount(destination="/sys/fs/cgroup", type="cgroup", options=cgroup))
    namespaces = [rs.Namespace(type=kind) for kind in ("pid", "ipc", "uts", "mount", "cgroup")]
    sysctl: tuple[tuple[str, str], ...] = ()
    if network == "new":
        namespaces.append(rs.Namespace(type="network"))
        sysctl = (("net.ipv4.ip_unprivileged_port_start", "0"),)
    elif network != "host":
        namespaces.append(rs.Namespace(type="network", path=network))
    spec = rs.Spec(
        root=rs.Root(path=str(rootfs)),
        process=process,
        hostname=HOSTNAME,
        mounts=(*defaults, *mounts),
        linux=rs.Linux(
            namespaces=tuple(namespaces),
            sysctl=sysctl,
            masked_paths=() if privileged else DEFAULT_MASKED_PATHS,
            readonly_paths=() if privileged else DEFAULT_READONLY_PATHS,
        ),
    )
    return Start(spec, HostSide(log=LogSettings(path=log_path), interactive=interactive))


def to_json(start: Start, **extra: Any) -> str:
    """The driver's argument (driver.py): config.json's document, the host side, `extra`."""
    host = start.host
    return json.dumps(
        {
            "config": rs.to_json(start.spec),
            "log_path": str(host.log.path),
            "interactive": host.interactive,
            **extra,
        }
    )
