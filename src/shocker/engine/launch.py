"""Launch a created container: cgroup, network, /etc files, spec, then the runtime.

This is the recipe of a container, top to bottom. The runtime gets a spec and three
callbacks; the callbacks are where cgroups, network and the store meet.
"""

from __future__ import annotations

import os

from shocker.engine.create import now
from shocker.engine.teardown import teardown, teardown_and_record, warn
from shocker.errors import NotRunning, RuntimeFailure, ShockerError, StorageError
from shocker.record import record as record_class
from shocker.static import TYPE_CHECKING
from shocker.store.containers import LIVENESS_LOCK, Status
from shocker.store.exitnote import ExitNote

if TYPE_CHECKING:
    import signal
    from collections.abc import Callable
    from ipaddress import IPv4Address
    from pathlib import Path

    from shocker.cgroups.driver import Cgroup
    from shocker.cgroups.limits import Limits
    from shocker.network.config import NetworkConfig
    from shocker.oci import runtime_spec as rs
    from shocker.runtime.hostside import HostSide
    from shocker.runtime.launcher import ExitStatus
    from shocker.settings import Settings
    from shocker.store.container_config import ContainerConfig, PublishedPort
    from shocker.store.containers import ContainerRecord
    from shocker.store.store import Store
else:
    import _signal as signal  # signal's C part, without its enums: see shocker.static


@record_class(frozen=True)
class PreparedNetwork:
    """The container's network for one start. mode: none, host, bridge, or the path of the
    namespace it joins (container:NAME); in bridge mode, its address and the bridge."""

    mode: str
    ip: IPv4Address | None = None
    mac: str = ""
    cfg: NetworkConfig | None = None


def launch(
    store: Store,
    settings: Settings,
    record: ContainerRecord,
    *,
    detach: bool,
    primed: Callable[[], None] | None = None,
    tied: bool = False,
) -> int:
    """Start the container's command; foreground: its exit code, detached: 0 once running.

    `primed` waits for a cgroup migration warm-up the caller started (started here if None).
    `tied` (foreground only): the container is killed and removed if this process dies
    before it ends, as a build step's container is.
    """
    from shocker.cgroups.warmup import migrate_in_place, prime_migration
    from shocker.runtime import launcher

    if primed is None:
        primed = prime_migration(settings.cgroup_root)

    try:
        cgroup = create_cgroup(settings, record.id, record.config)
        ids = record.config.userns
        if ids:
            # Its root may manage the cgroup it runs in (on v1 too), not the limits above it.
            cgroup.delegate(ids.uid, ids.gid)
        network = prepare_network(store, settings, record)
        spec, host = build_start(store, record, network, settings)
    except RuntimeFailure as failure:
        # `-u` names nobody in the image: a start that failed, as when the init says so.
        primed()
        finish(store, settings, record.id, failure.exit_code, None, restart=False)
        raise
    except BaseException:
        primed()
        # Nothing ran: free what was taken; `--rm` leaves no container behind either.
        teardown_and_record(store, settings, record.id)
        if record.auto_remove:
            remove_auto(store, record)
        raise

    def on_created(pid: int) -> None:
        cgroup.add_process(pid)
        if network.cfg is not None and network.ip is not None:
            from shocker.network.attach import attach

            attach(network.cfg, record.id, pid, network.ip)

    caller = os.getpid()

    def on_started(pid: int, supervisor_pid: int) -> None:
        from shocker.linux.proc import process_start_time

        if tied:
            from shocker.runtime.signals import die_with_caller

            die_with_caller(pid, caller)

        def mark(r: ContainerRecord) -> None:
            r.move_to(Status.RUNNING)
            r.pid = pid
            r.pid_start_time = process_start_time(pid)
            r.supervisor_pid = supervisor_pid
            r.started_at = now()
            r.exit_code = None
            r.finished_at = None
            r.oom_killed = False
            r.stopping = False

        # A running state names processes: after a machine crash it is moot, no fsync.
        store.containers.update(record.id, mark, durable=False)

    def on_exit(status: ExitStatus) -> None:
        finish(store, settings, record.id, status.exit_code, cgroup)
        if tied and os.getppid() != caller:
            store.containers.remove(record.id)  # its caller is gone: nobody will

    # A detached container's supervisor becomes a lean monitor process (a few MB instead of
    # a copy of this heap); it records the exit by running `shocker _finish ID CODE SIGNAL`.
    exit_command = (*finish_command(), record.id) if detach else None
    primed()  # no other thread may be running when the launcher forks

    def while_starting() -> None:
        migrate_in_place(settings.cgroup_root)
        if host.foreign is None:
            write_config(store, record, spec)  # while the supervisor makes the namespaces

    try:
        return launcher.start(
            spec,
            host,
            detach=detach,
            on_created=on_created,
            on_started=on_started,
            on_exit=on_exit,
            exit_command=exit_command,
            while_starting=while_starting,
        )
    except ShockerError as error:
        finish(store, settings, record.id, error.exit_code, cgroup, restart=False)
        raise


def finish_command() -> tuple[str, ...]:
    """How a monitor calls back into shocker (the same interpreter and package as now)."""
    import sys

    return (sys.executable, "-m", "shocker", "_finish")


def finish(
    store: Store,
    settings: Settings,
    container_id: str,
    exit_code: int,
    cgroup: Cgroup | None,
    *,
    restart: bool = True,
) -> None:
    """After the container's pid 1 is gone: record how it ended, free what it held, and
    start it again when its restart policy says so (not after a start that failed)."""
    oom = False
    if cgroup is not None:
        try:
            oom = cgroup.oom_killed()
        except ShockerError:
            oom = False
    failures = teardown(store, settings, container_id)
    warn(container_id, failures)

    def mark(r: ContainerRecord) -> None:
        r.move_to(Status.EXITED)
        r.exit_code = exit_code
        r.oom_killed = oom
        r.finished_at = now()
        r.teardown_errors = failures

    try:
        # The exit code must outlive a crash, unless the record is about to go (--rm).
        record = store.containers.update(container_id, mark, durable=None)
    except StorageError:
        # No room for a new record (a container filled the store): the exit goes into the
        # space reserved for it at create; no restart on a full store.
        started = _started_at(store, container_id)
        note = ExitNote(started_at=started, finished_at=now(), exit_code=exit_code, oom_killed=oom)
        noted = store.containers.note_exit(container_id, note)
        if noted is None:
            warn(container_id, ["state: its exit could not be recorded (the store is full)"])
        elif noted.auto_remove:
            remove_auto(store, noted)
        return
    except ShockerError:
        return  # removed meanwhile (rm -f)
    if record.auto_remove:
        remove_auto(store, record)
    elif restart:
        from shocker.engine.restart import restart_if_wanted

        restart_if_wanted(store, settings, record)


def _started_at(store: Store, container_id: str) -> str | None:
    try:
        return store.containers.get(container_id).started_at
    except ShockerError:
        return None


def create_cgroup(settings: Settings, container_id: str, config: ContainerConfig) -> Cgroup:
    from shocker.cgroups import detect

    limits = cgroup_limits(config)
    return detect(settings.cgroup_root).create(settings.cgroup_parent, container_id, limits)


def cgroup_limits(config: ContainerConfig) -> Limits:
    """The container's limits and device rules (none, all allowed, when privileged)."""
    from shocker.cgroups.devices import DEFAULT_RULES, DeviceRule
    from shocker.cgroups.limits import Limits

    devices = None
    if not config.privileged:
        extra = config.devices
        devices = (
            *DEFAULT_RULES,
            *(
                DeviceRule(
                    allow=True,
                    type=d.kind,
                    major=d.major,
                    minor=d.minor,
                    access=d.access,
                )
                for d in extra
            ),
        )
    limits = config.limits
    return Limits(
        memory_bytes=limits.memory_bytes,
        cpu_shares=limits.cpu_shares,
        cpu_quota_cores=limits.cpu_quota_cores,
        pids_max=limits.pids_max,
        devices=devices,
    )


def shared_network(store: Store, mode: str) -> PreparedNetwork | None:
    """The network of a mode that makes none of its own (none, host, container:NAME)."""
    if mode in ("none", "host"):
        return PreparedNetwork(mode)
    if mode.startswith("container:"):
        other = store.containers.resolve(mode.partition(":")[2])
        from shocker.engine.status import is_running

        if not is_running(other):
            raise NotRunning(f"Container '{other.id}' exists but is not running")
        return PreparedNetwork(f"/proc/{other.pid}/ns/net")
    return None


def prepare_network(store: Store, settings: Settings, record: ContainerRecord) -> PreparedNetwork:
    """Address and published ports for bridge mode, recorded before anything starts."""
    mode = record.config.network
    shared = shared_network(store, mode)
    if shared is not None:
        return shared
    if mode != "bridge":
        from shocker.errors import UsageError

        raise UsageError(f"unknown network '{mode}': use bridge, none, host or container:ID")
    from shocker.network import ipam
    from shocker.network.bridge import ensure_host_network
    from shocker.network.config import NetworkConfig

    cfg = NetworkConfig.from_settings(settings, store.layout.network)
    for line in ensure_host_network(cfg):
        import sys

        print(line, file=sys.stderr)
    ip = ipam.allocate(cfg, record.id, record.config.ip, lambda cid: _is_live(store, cid))
    ports = _publish(store, cfg, record, str(ip))
    from shocker.network.attach import mac_for
    from shocker.store.container_config import NetworkAttachment

    attachment = NetworkAttachment(
        ip=str(ip),
        gateway=str(cfg.gateway.ip),
        prefixlen=cfg.gateway.network.prefixlen,
        mac=mac_for(ip),
        bridge=cfg.bridge,
    )

    def save(r: ContainerRecord) -> None:
        r.network = attachment
        r.ports = ports

    # The address and rules die with the machine too; the address pool keeps its own file.
    store.containers.update(record.id, save, durable=False)
    return PreparedNetwork("bridge", ip=ip, mac=attachment.mac, cfg=cfg)


def _publish(
    store: Store, cfg: NetworkConfig, record: ContainerRecord, ip: str
) -> tuple[PublishedPort, ...]:
    from shocker.network.firewall import publish
    from shocker.network.ports import from_exposed, parse_publish
    from shocker.store.container_config import PublishedPort

    config = record.config
    wanted = [parse_publish(p) for p in config.publish]
    if config.publish_all:
        wanted += from_exposed(config.exposed_ports)
    if not wanted:
        return ()
    from shocker.engine.status import is_running

    def taken(port: int, protocol: str) -> bool:
        for other in store.containers.list():
            if other.id != record.id and is_running(other):
                for mapping in other.ports:
                    if mapping.host_port == port and mapping.protocol == protocol:
                        return True
        return False

    return tuple(
        PublishedPort(m.host_ip, m.host_port, m.container_port, m.protocol)
        for m in publish(cfg, record.id, ip, wanted, taken)
    )


def _is_live(store: Store, container_id: str) -> bool:
    from shocker.engine.status import is_running

    try:
        record = store.containers.get(container_id)
    except ShockerError:
        return False
    return record.state == Status.CREATED or is_running(record)


def build_start(
    store: Store, record: ContainerRecord, network: PreparedNetwork, settings: Settings
) -> tuple[rs.Spec, HostSide]:
    """The container's runtime spec (engine/bundle.py), the one every runtime executes,
    and what the start needs beside it. With another runtime, config.json is written here
    (its `create` reads it); shocker's own gets the spec in memory and the file is written
    while it starts (write_config)."""
    from shocker.engine import bundle
    from shocker.runtime.hostside import HostSide, LogSettings

    config = record.config
    mode = network.mode
    mounts = tuple(_mounts(store, record, network))
    directory = store.layout.container_dir(record.id)
    spec = bundle.build(
        store,
        record,
        network_namespace="new" if mode in ("bridge", "none") else mode,
        extra_mounts=mounts,
        cgroups_path=f"/{settings.cgroup_parent}/{record.id}",
        idmapped_root=bool(config.runtime),
    )
    foreign = None
    if config.runtime:
        from shocker.runtime.foreign import ForeignRuntime

        bundle.write(directory, spec)
        foreign = ForeignRuntime(
            binary=config.runtime,
            bundle=str(directory),
            state_root=str(directory / "runtime"),
            id=record.id,
            idmapped_root=spec.root.path if config.userns else "",
            rootfs=str(store.layout.container_rootfs(record.id)),
        )
    if config.userns:
        ids = config.userns
        _hand_over(mounts, config, (ids.uid, ids.gid), directory)
    log = config.log
    host = HostSide(
        log=LogSettings(
            path=store.containers.log_path(record.id, log.driver),
            driver=log.driver,
            max_size=log.max_size,
            max_files=log.max_files,
        ),
        interactive=config.interactive,
        liveness_lock=directory / LIVENESS_LOCK,
        seccomp_cache=store.layout.seccomp_cache,
        init_path=init_program() if config.init else None,
        foreign=foreign,
    )
    return spec, host


def write_config(store: Store, record: ContainerRecord, spec: rs.Spec) -> None:
    """config.json in the metadata directory, as shocker's own runtime runs it. Nothing on
    the start path reads it back: a failure to write it is a warning, not a failed start."""
    from shocker.engine import bundle

    try:
        bundle.write(store.layout.container_dir(record.id), spec)
    except ShockerError as error:
        import sys

        print(f"warning: {record.id}: {error.message}", file=sys.stderr)


def _hand_over(
    mounts: tuple[rs.Mount, ...], config: ContainerConfig, owner: tuple[int, int], own: Path
) -> None:
    """With a user namespace, container root is a host id of its range: the /etc files
    shocker writes, and named volumes still empty and root's, become that id's, as podman
    does; other bind mounts keep their host owners (no idmap on volumes)."""
    import os
    from pathlib import Path

    named = {v.source for v in config.volumes if v.volume}
    for mount in mounts:
        path = Path(mount.source)
        if mount.type != "bind":
            continue
        try:
            info = path.lstat()
            if mount.source in named:
                if info.st_uid != 0 or info.st_gid != 0 or any(path.iterdir()):
                    continue
            elif path.parent != own:
                continue
            os.chown(path, *owner, follow_symlinks=False)
        except OSError:
            continue


INIT_PROGRAMS = ("/usr/bin/tini-static", "/usr/sbin/tini-static", "/sbin/tini-static")


def init_program() -> str:
    """The host's static tini for `--init` (a static build runs in any image)."""
    import os

    for path in INIT_PROGRAMS:
        if os.access(path, os.X_OK):
            return path
    from shocker.errors import ShockerError

    raise ShockerError(
        "--init needs tini-static, which is not installed", hint="apt-get install tini"
    )


def stop_signal_number(name: str | None) -> int | None:
    """The image's StopSignal ("SIGQUIT", "QUIT", "3") as a number; None if absent or bad."""
    if not name:
        return None
    text = name.upper()
    if text.isdigit():
        return int(text)
    # The names signal.Signals holds: SIGxxx, not the SIG_DFL-like constants.
    text = text if text.startswith("SIG") else "SIG" + text
    number = getattr(signal, text, None) if not text.startswith("SIG_") else None
    return number if isinstance(number, int) else None


def _mounts(store: Store, record: ContainerRecord, network: PreparedNetwork) -> list[rs.Mount]:
    etc = write_etc_files(store.layout.container_dir(record.id), record, network)
    return container_mounts(record, etc)


def container_mounts(record: ContainerRecord, etc: dict[str, Path]) -> list[rs.Mount]:
    """The container's own mounts beyond the defaults: its /etc files, --tmpfs, volumes."""
    from shocker.oci import runtime_spec as rs

    def bind(source: str, destination: str, readonly: bool = False) -> rs.Mount:
        options = ("rbind", "ro" if readonly else "rw")
        return rs.Mount(destination=destination, type="bind", source=source, options=options)

    mounts = [bind(str(path), dest) for dest, path in etc.items()]
    for path, options in record.config.tmpfs:
        mounts.append(rs.Mount(destination=path, type="tmpfs", source="tmpfs", options=options))
    for volume in record.config.volumes:
        mounts.append(bind(volume.source, volume.destination, volume.readonly))
    return mounts


def write_etc_files(
    directory: Path, record: ContainerRecord, network: PreparedNetwork
) -> dict[str, Path]:
    """/etc/hostname, /etc/hosts, /etc/resolv.conf for the container, kept outside its rootfs."""
    from shocker.store.atomic import write_bytes_atomic

    result: dict[str, Path] = {}
    for destination, (path, text) in etc_files(directory, record, network).items():
        # Regenerated on every start: atomic for readers, not worth an fsync each.
        write_bytes_atomic(path, text.encode(), durable=False)
        result[destination] = path
    return result


def etc_files(
    directory: Path, record: ContainerRecord, network: PreparedNetwork
) -> dict[str, tuple[Path, str]]:
    """Container path -> (file in the metadata directory, its text), written by nobody."""
    from shocker.network.dns import hosts_file, resolv_conf

    hostname = record.config.hostname
    files: dict[str, str] = {"/etc/hostname": hostname + "\n"}
    if network.mode == "host":
        files["/etc/hosts"] = _read("/etc/hosts")
    else:
        ip = str(network.ip) if network.ip is not None else None
        names = f"{hostname} {record.name}" if record.name and record.name != hostname else hostname
        files["/etc/hosts"] = hosts_file(names, ip)
    upstream = "/run/systemd/resolve/resolv.conf"
    files["/etc/resolv.conf"] = resolv_conf(
        _read("/etc/resolv.conf"),
        _read(upstream) or None,
        list(record.config.dns),
    )
    return {dest: (directory / dest.rpartition("/")[2], text) for dest, text in files.items()}


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def remove_auto(store: Store, record: ContainerRecord) -> None:
    """`--rm`: the container goes, with its anonymous volumes (as Docker's)."""
    store.containers.remove(record.id)
    if any(mount.anonymous for mount in record.config.volumes):
        from shocker.engine.create import remove_anonymous_volumes

        remove_anonymous_volumes(store, record)
