"""Create a container: resolve (or pull) its image, merge the image config with the flags,
snapshot the image, and write the record that `start` will launch from.
"""

from __future__ import annotations

import os
import sys
import time

from shocker.errors import NotFound, UsageError
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from shocker.cgroups.devices import HostDevice
    from shocker.engine.options import RunOptions, VolumeSpec
    from shocker.engine.pull import PullReporter
    from shocker.oci.seccomp import Seccomp
    from shocker.settings import Settings
    from shocker.store.container_config import ContainerConfig, DeviceMapping, VolumeMount
    from shocker.store.containers import ContainerRecord
    from shocker.store.images import ImageRecord
    from shocker.store.store import Store
    from shocker.store.subids import IdAllocation

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def now() -> str:
    # datetime.now(UTC).isoformat() without importing datetime (~1 ms on every start).
    micros_total = time.time_ns() // 1000
    seconds, micros = divmod(micros_total, 1_000_000)
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{whole}.{micros:06d}+00:00" if micros else f"{whole}+00:00"


def find_or_pull(
    store: Store, settings: Settings, name: str, platform: str | None, reporter: PullReporter
) -> ImageRecord:
    """The image by id or name; pulled first when it is a name held nowhere here (Docker's way).

    The pull's messages go to stderr, so that stdout stays the container's own output.
    """
    try:
        return store.images.resolve(name)
    except NotFound:
        if name.startswith("img-"):
            raise
    from shocker.engine.pull import pull
    from shocker.oci.platform import parse_platform
    from shocker.oci.reference import parse_reference
    from shocker.registry.client import RegistryClient

    ref = parse_reference(name, settings.registry)
    print(f"Unable to find image '{ref.familiar()}' locally", file=sys.stderr)
    with RegistryClient(settings, challenges=store.layout.registry_challenges) as client:
        result = pull(store, client, ref, reporter, parse_platform(platform) if platform else None)
    print(f"Created: {result.image.id}", file=sys.stderr)
    return result.image


def container_config(
    store: Store,
    settings: Settings,
    image: ImageRecord,
    options: RunOptions,
    *,
    make_volumes: bool = True,
) -> tuple[ContainerConfig, Seccomp | None]:
    """Everything `start` needs to launch the container again, and its seccomp profile
    (None: unconfined). make_volumes False: named volumes are not created (`run
    --explain`)."""
    from shocker.cgroups.devices import parse_device
    from shocker.cgroups.limits import check_memory_floor, parse_cpus, parse_memory
    from shocker.engine.logoptions import parse_log_config
    from shocker.engine.process_options import parse_sysctls, parse_tmpfs, parse_ulimits
    from shocker.engine.restart import parse_restart
    from shocker.engine.security import parse_security_options, seccomp_for
    from shocker.oci.image_config import ImageConfig
    from shocker.runtime.capabilities import effective_capabilities
    from shocker.runtime.command import build_argv
    from shocker.store.container_config import ContainerConfig, ResourceLimits

    image_config = ImageConfig.from_json(image.config)
    entrypoint: tuple[str, ...] | None = image_config.entrypoint
    cmd = image_config.cmd
    if options.entrypoint is not None:
        # Docker: a new entrypoint drops the image's CMD as well.
        entrypoint = (options.entrypoint,) if options.entrypoint else None
        cmd = None
    argv = build_argv(entrypoint, cmd, list(options.command), shell_rule=True)
    env = merge_env(image_config.env, options.env, options.tty)
    if options.memory:
        source = f"--memory '{options.memory}'"
        memory = check_memory_floor(parse_memory(options.memory), source, "give a unit: -m 64m")
    else:
        memory = check_memory_floor(
            settings.mem_limit_mb * 2**20, "SHOCKER_MEM_LIMIT", "it counts MB: 512 is the default"
        )
    shares = _positive_int("--cpu-shares", options.cpu_shares) or settings.cpu_shares
    pids: int | None = settings.pids_limit
    if options.pids_limit is not None:
        value = _int("--pids-limit", options.pids_limit)
        pids = None if value <= 0 else value
    if options.cgroupns not in ("host", "private"):
        raise UsageError(f"invalid --cgroupns '{options.cgroupns}': use host or private")
    capabilities = effective_capabilities(options.cap_add, options.cap_drop)
    security = parse_security_options(options.security_opt)
    log = parse_log_config(options.log_driver, list(options.log_opts))
    restart = parse_restart(options.restart, options.remove)
    if options.init:
        from shocker.engine.launch import init_program

        if options.runtime:
            raise UsageError("--init is not supported with --runtime")
        init_program()  # missing: one line now, not a container that cannot start
    seccomp = seccomp_for(
        security, capabilities, privileged=options.privileged, cache=store.layout.seccomp_cache
    )
    config = ContainerConfig(
        argv=tuple(argv),
        env=tuple(env),
        cwd=options.workdir or image_config.working_dir or "/",
        user=options.user if options.user is not None else image_config.user,
        hostname=options.hostname or "",  # the container id unless given (make_record)
        tty=options.tty,
        interactive=options.interactive,
        volumes=tuple(volume_mounts(store, image, options, make_volumes)),
        network=options.network,
        ip=options.ip,
        dns=tuple(options.dns),
        publish=tuple(options.publish),
        publish_all=options.publish_all,
        exposed_ports=tuple(image_config.exposed_ports),
        privileged=options.privileged,
        capabilities=tuple(sorted(capabilities)),
        security_opt=tuple(options.security_opt),
        cgroupns=options.cgroupns,
        read_only=options.read_only,
        tmpfs=tuple(parse_tmpfs(options.tmpfs)),
        sysctls=tuple(parse_sysctls(options.sysctls, options.network)),
        ulimits=tuple(parse_ulimits(options.ulimits)),
        devices=tuple(_device_mapping(parse_device(d)) for d in options.devices),
        no_new_privileges=security.no_new_privileges,
        # The resolved profile itself is large: it lives beside the record (seccomp.json).
        seccomp=seccomp is not None,
        limits=ResourceLimits(
            memory_bytes=memory,
            cpu_shares=shares,
            cpu_quota_cores=parse_cpus(options.cpus) if options.cpus else None,
            pids_max=pids,
        ),
        stop_signal=options.stop_signal or image_config.stop_signal,
        stop_timeout=options.stop_timeout,
        init=options.init,
        restart=restart,
        log=log,
        runtime=oci_runtime(options.runtime, settings),
        # Its host id range is allocated with its id (create_container).
        userns_size=userns_size(options, settings),
    )
    return config, seccomp


def _device_mapping(device: HostDevice) -> DeviceMapping:
    from shocker.store.container_config import DeviceMapping

    return DeviceMapping(
        host_path=device.host_path,
        container_path=device.container_path,
        kind=device.kind,
        major=device.major,
        minor=device.minor,
        mode=device.mode,
        access=device.access,
    )


def userns_size(options: RunOptions, settings: Settings) -> int | None:
    """The ids of the container's own user namespace (--userns=auto[:size=N], else
    SHOCKER_USERNS), or None for the host's. An explicit --userns=host always wins."""
    from shocker.store.subids import DEFAULT_SIZE, MIN_SIZE

    explicit = options.userns is not None
    text = options.userns if options.userns is not None else settings.userns
    source = "--userns" if explicit else "SHOCKER_USERNS"
    mode, _, extra = text.partition(":")
    if mode == "host" and not extra:
        return None
    if mode != "auto":
        raise UsageError(f"invalid {source} '{text}': use auto, auto:size=N or host")
    size = DEFAULT_SIZE
    if extra:
        key, _, value = extra.partition("=")
        if key != "size" or not value.isdigit() or int(value) < MIN_SIZE:
            raise UsageError(
                f"invalid {source} '{text}': size must be a number of ids >= {MIN_SIZE}"
            )
        size = int(value)
    if options.privileged:
        if not explicit:
            return None  # the default yields to what cannot have it, as podman's does
        raise UsageError("--userns=auto cannot be combined with --privileged: use --userns=host")
    return size


def merge_env(image_env: tuple[str, ...], flags: tuple[str, ...], tty: bool) -> list[str]:
    merged: dict[str, str] = {}
    for item in image_env:
        key, _, value = item.partition("=")
        merged[key] = value
    merged.setdefault("PATH", DEFAULT_PATH.partition("=")[2])
    if tty:
        merged.setdefault("TERM", "xterm")
    for item in flags:
        key, _, value = item.partition("=")
        merged[key] = value
    return [f"{k}={v}" for k, v in merged.items()]


def _image_labels(image: ImageRecord) -> dict[str, str]:
    """The image config's Labels: a container inherits them, its own -l win (Docker)."""
    labels = image.config.get("config", {}).get("Labels") or {}
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def volume_mounts(
    store: Store, image: ImageRecord, options: RunOptions, make: bool = True
) -> list[VolumeMount]:
    """The container's -v and --volumes-from mounts, then an anonymous volume for each
    `VOLUME` of the image that no other mount covers (Docker's rule). A new, empty volume
    is first filled from the image's directory unless nocopy. `make` False (`run
    --explain`): nothing is created or filled, and no anonymous volume is listed."""
    from shocker.store.container_config import VolumeMount

    rootfs = store.layout.image_rootfs(image.id)
    mounts = [_volume_record(store, v, rootfs, make) for v in options.volumes]
    mounts += _volumes_from(store, options.volumes_from)
    if not make:
        return mounts
    taken = {m.destination for m in mounts}
    made: list[str] = []
    try:
        for destination in image_volumes(image.config):
            if destination in taken:
                continue
            name, path = store.volumes.create_anonymous()
            made.append(name)
            store.volumes.fill_from(name, rootfs, destination)
            mounts.append(
                VolumeMount(str(path), destination, readonly=False, volume=name, anonymous=True)
            )
    except BaseException:
        for name in made:
            store.volumes.remove(name)
        raise
    return mounts


def image_volumes(config: dict[str, Any]) -> list[str]:
    """The image config's `Volumes` paths, normalised, sorted (parents before children)."""
    declared = (config.get("config") or {}).get("Volumes") or {}
    if not isinstance(declared, dict):
        return []
    paths = {os.path.normpath(str(p)) for p in declared if str(p).startswith("/")}
    return sorted(p for p in paths if p != "/")


def _volume_record(store: Store, volume: VolumeSpec, rootfs: Path, make: bool) -> VolumeMount:
    from shocker.store.container_config import VolumeMount

    source = volume.source
    if volume.named and not make:
        source = str(store.volumes.path(volume.source))
    elif volume.named:
        source = str(store.volumes.ensure(volume.source))
        if not volume.nocopy:
            store.volumes.fill_from(volume.source, rootfs, volume.destination)
    return VolumeMount(
        source,
        volume.destination,
        readonly=volume.readonly,
        volume=volume.source if volume.named else None,
    )


def remove_anonymous_volumes(store: Store, record: ContainerRecord) -> list[str]:
    """Remove the container's anonymous volumes that no other container mounts (`rm -v`,
    and `--rm` as Docker does); their names."""
    from shocker.errors import ShockerError

    others = {
        m.volume for c in store.containers.list() if c.id != record.id for m in c.config.volumes
    }
    removed = []
    for mount in record.config.volumes:
        name = mount.volume
        if name and mount.anonymous and name not in others:
            try:
                store.volumes.remove(name)
            except ShockerError:
                continue
            removed.append(name)
    return removed


def _volumes_from(store: Store, containers: tuple[str, ...]) -> list[VolumeMount]:
    """Docker's data volume containers: the same mounts as another container."""
    from shocker.record import replace

    mounts: list[VolumeMount] = []
    for text in containers:
        name, _, mode = text.partition(":")
        other = store.containers.resolve(name)
        for mount in other.config.volumes:
            mounts.append(replace(mount, readonly=mount.readonly or mode == "ro"))
    return mounts


def _int(flag: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"invalid value for {flag}: '{text}' is not a number") from None


def _positive_int(flag: str, text: str | None) -> int | None:
    if text is None:
        return None
    value = _int(flag, text)
    if value <= 0:
        raise UsageError(f"invalid value for {flag}: must be positive")
    return value


def create_container(
    store: Store, settings: Settings, options: RunOptions, reporter: PullReporter
) -> ContainerRecord:
    from shocker.store.containers import ContainerRecord

    image = find_or_pull(store, settings, options.image, options.platform, reporter)
    config, seccomp = container_config(store, settings, image, options)

    def make_record(container_id: str) -> ContainerRecord:
        from shocker.record import replace

        own = replace(config, hostname=config.hostname or container_id)
        if own.userns_size is not None:
            own = replace(own, userns=allocate_ids(store, settings, container_id, own.userns_size))
        return ContainerRecord(
            id=container_id,
            name=options.name,
            image_id=image.id,
            image=image.reference or image.id,
            command=list(own.argv),
            created=now(),
            auto_remove=options.remove,
            config=own,
            labels={**_image_labels(image), **dict(options.labels)},
        )

    try:
        record = store.containers.create(image, options.name, make_record)
    except BaseException:
        for mount in config.volumes:
            if mount.anonymous and mount.volume:
                store.volumes.remove(mount.volume)
        raise
    if seccomp is not None:
        from shocker.engine.security import save_seccomp

        try:
            save_seccomp(store.layout.container_dir(record.id), seccomp)
        except BaseException:
            store.containers.remove(record.id)
            raise
    return record


def allocate_ids(store: Store, settings: Settings, container_id: str, size: int) -> IdAllocation:
    """A host id range of its own for the container, as recorded in its config."""
    from shocker.store.subids import SubIds

    ids = SubIds(store.layout, settings.subuid, settings.subgid)
    taken = store.layout.container_dir
    return ids.allocate(container_id, size, lambda cid: taken(cid).exists())


def oci_runtime(name: str | None, settings: Settings) -> str | None:
    """The OCI runtime binary for `--runtime` (else SHOCKER_RUNTIME); None: shocker's own.

    Raises UsageError (exit 125) for a name or path that is no executable."""
    chosen = name if name is not None else settings.runtime
    if not chosen or chosen in ("shocker", "default"):
        return None
    from shocker.errors import RuntimeFailure, UsageError
    from shocker.runtime.foreign import resolve

    try:
        return resolve(chosen)
    except RuntimeFailure as error:
        raise UsageError(error.message, hint="--runtime takes runc, crun or a path") from None
