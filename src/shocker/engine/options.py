"""RunOptions: what the user asked of a new container, validated, as plain data."""

from __future__ import annotations

import os
import re
from pathlib import Path

from shocker.errors import NotFound, UsageError
from shocker.record import field, record
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

# Compiled on first use, not at import (see shocker.store.containers).
NAME_PATTERN = r"[a-zA-Z0-9][a-zA-Z0-9_.-]*"


@record(frozen=True)
class VolumeSpec:
    """`-v`: a bind of a host path, or a named volume, at a path inside."""

    source: str  # a host path (absolute) or a volume name
    destination: str
    readonly: bool = False
    named: bool = False
    nocopy: bool = False  # a new, empty named volume is not filled from the image


@record(frozen=True)
class RunOptions:
    image: str
    command: tuple[str, ...] = ()
    detach: bool = False
    remove: bool = False
    interactive: bool = False
    tty: bool = False
    name: str | None = None
    hostname: str | None = None
    entrypoint: str | None = None
    env: tuple[str, ...] = ()
    workdir: str | None = None
    user: str | None = None
    volumes: tuple[VolumeSpec, ...] = ()
    volumes_from: tuple[str, ...] = ()
    memory: str | None = None
    cpus: str | None = None
    cpu_shares: str | None = None
    pids_limit: str | None = None
    privileged: bool = False
    runtime: str | None = None  # another OCI runtime: a name on PATH or a path
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    cgroupns: str = "private"
    userns: str | None = None  # auto[:size=N] or host; None: SHOCKER_USERNS
    read_only: bool = False
    tmpfs: tuple[str, ...] = ()
    sysctls: tuple[str, ...] = ()
    ulimits: tuple[str, ...] = ()
    network: str = "bridge"
    publish: tuple[str, ...] = ()
    publish_all: bool = False
    ip: str | None = None
    dns: tuple[str, ...] = ()
    platform: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    stop_signal: str | None = None  # canonical: "SIGUSR1"
    stop_timeout: int | None = None
    restart: str | None = None
    init: bool = False
    log_driver: str | None = None
    log_opts: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)


def parse_volume(text: str, nocopy: bool = False) -> VolumeSpec:
    """`HOST:CONTAINER[:ro|rw]`, `NAME:CONTAINER[:OPTIONS]`, or `PATH` (the same path inside).

    OPTIONS is a comma-separated list of `ro`, `rw` and (named volumes only) `nocopy`.
    """
    parts = text.split(":")
    modes: set[str] = set()
    if len(parts) == 3:
        modes = set(parts.pop().split(","))
    if not modes <= {"ro", "rw", "nocopy"} or {"ro", "rw"} <= modes:
        raise UsageError(f"invalid volume specification '{text}'")
    if len(parts) > 2 or not all(parts):
        raise UsageError(f"invalid volume specification '{text}'")
    source = parts[0]
    destination = parts[1] if len(parts) == 2 else parts[0]
    if not destination.startswith("/"):
        raise UsageError(
            f"invalid volume specification '{text}': the container path must be absolute"
        )
    named = not source.startswith(("/", "."))
    if "nocopy" in modes and not named:
        raise UsageError(f"invalid volume specification '{text}': nocopy is for named volumes")
    if named:
        if len(parts) == 1 or not re.fullmatch(NAME_PATTERN, source):
            raise UsageError(f"invalid volume specification '{text}'")
    else:
        host = Path(source).absolute()
        if not host.exists():
            raise NotFound(f"host path '{source}' of volume '{text}' does not exist")
        source = os.path.normpath(host)
    return VolumeSpec(
        source,
        os.path.normpath(destination),
        "ro" in modes,
        named,
        named and (nocopy or "nocopy" in modes),
    )


def parse_env(assignments: list[str], env_files: list[str]) -> tuple[str, ...]:
    """`-e KEY=VAL`, `-e KEY` (taken from this environment, dropped if unset), --env-file."""
    result: list[str] = []
    lines: list[str] = []
    for name in env_files:
        try:
            text = Path(name).read_text()
        except OSError as error:
            raise NotFound(f"cannot read env file '{name}': {error.strerror}") from None
        lines += [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    for item in [*lines, *assignments]:
        key, sep, _ = item.partition("=")
        if not key or " " in key:
            raise UsageError(f"invalid environment variable '{item}'")
        if sep:
            result.append(item)
        elif key in os.environ:
            result.append(f"{key}={os.environ[key]}")
    return tuple(result)


def parse_labels(texts: list[str]) -> tuple[tuple[str, str], ...]:
    """`-l KEY=VALUE` or `-l KEY` (an empty value), as Docker."""
    labels: dict[str, str] = {}
    for text in texts:
        key, _, value = text.partition("=")
        if not key.strip():
            raise UsageError(f"invalid label '{text}': use KEY=VALUE")
        labels[key] = value
    return tuple(labels.items())


def parse_stop_signal(text: str | None) -> str | None:
    """`USR1`, `SIGUSR1` or `10` -> "SIGUSR1"; UsageError for anything else."""
    if text is None:
        return None
    import signal

    name = text.upper()
    try:
        if name.isdigit():
            return signal.Signals(int(name)).name
        return signal.Signals[name if name.startswith("SIG") else "SIG" + name].name
    except (KeyError, ValueError):
        raise UsageError(f"invalid --stop-signal '{text}': use a signal name or number") from None


def parse_stop_timeout(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"invalid --stop-timeout '{text}': use a number of seconds") from None
    if value < -1:
        raise UsageError(f"invalid --stop-timeout '{text}': use a number of seconds")
    return value


def _nocopy(volume_opts: list[str]) -> bool:
    """`--volume-opt nocopy`: no named volume of this container is filled from the image."""
    for option in volume_opts:
        if option != "nocopy":
            raise UsageError(f"invalid --volume-opt '{option}': the option is nocopy")
    return bool(volume_opts)


def options_from_args(args: Any) -> RunOptions:
    """`args`: the parsed flags of `run` (shocker.parsed.Namespace), by attribute."""
    if args.name is not None and not re.fullmatch(NAME_PATTERN, args.name):
        raise UsageError(f"invalid container name '{args.name}': use [a-zA-Z0-9][a-zA-Z0-9_.-]*")
    nocopy = _nocopy(getattr(args, "volume_opt", []))
    return RunOptions(
        image=args.image,
        command=tuple(args.command),
        detach=args.detach,
        remove=args.rm,
        interactive=args.interactive,
        tty=args.tty,
        name=args.name,
        hostname=args.hostname,
        entrypoint=args.entrypoint,
        env=parse_env(args.env, args.env_file),
        workdir=args.workdir,
        user=args.user,
        volumes=tuple(parse_volume(v, nocopy) for v in args.volume),
        volumes_from=tuple(args.volumes_from),
        memory=args.memory,
        cpus=args.cpus,
        cpu_shares=args.cpu_shares,
        pids_limit=args.pids_limit,
        privileged=args.privileged,
        runtime=getattr(args, "runtime", None),
        cap_add=tuple(args.cap_add),
        cap_drop=tuple(args.cap_drop),
        security_opt=tuple(args.security_opt),
        devices=tuple(args.device),
        cgroupns=args.cgroupns,
        userns=getattr(args, "userns", None),
        read_only=args.read_only,
        tmpfs=tuple(args.tmpfs),
        sysctls=tuple(args.sysctl),
        ulimits=tuple(args.ulimit),
        network=args.network,
        publish=tuple(args.publish),
        publish_all=args.publish_all,
        ip=args.ip,
        dns=tuple(args.dns),
        platform=args.platform,
        labels=parse_labels(args.label),
        stop_signal=parse_stop_signal(args.stop_signal),
        stop_timeout=parse_stop_timeout(args.stop_timeout),
        restart=getattr(args, "restart", None),
        init=getattr(args, "init", False),
        log_driver=getattr(args, "log_driver", None),
        log_opts=tuple(getattr(args, "log_opt", ())),
    )
