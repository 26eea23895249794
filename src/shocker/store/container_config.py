"""What a container record says about the container, typed: how `start` launches it again
(ContainerConfig, with its volumes, devices, limits, restart policy and log), the address it
got on the bridge and the ports published for it.

Each record reads and writes the shape state.json has always had (`from_json`, `to_json`:
the same keys, lists for tuples, objects in sorted key order as state.json keeps them); a
key that an older record lacks takes its default, one it does not know is ignored.
"""

from __future__ import annotations

from shocker.record import fields, is_record, record
from shocker.static import TYPE_CHECKING
from shocker.store.subids import IdAllocation

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, ClassVar, TypeVar

    T = TypeVar("T")
    L = TypeVar("L", bound="Lazy")


def _mapping(data: object) -> dict[str, Any]:
    return data if isinstance(data, dict) else {}


def _items(data: object) -> list[Any]:
    return data if isinstance(data, list) else []


def _flat(cls: type[T], data: object) -> T:
    """Record `cls` from the keys of `data` it knows (no conversion: flat JSON fields)."""
    body = _mapping(data)
    return cls(**{name: body[name] for name in fields(cls) if name in body})


class Lazy:
    """A record read from JSON field by field, each on its first use: `ps` over a thousand
    containers reads a few fields of each, and a start rewrites its record three times
    without reading its config. Being frozen, it writes back the JSON it was read from.

    A subclass is decorated with @lazy over @record and says how to read each field that
    is not a plain JSON value (`readers`); a key missing from the JSON takes its default."""

    if TYPE_CHECKING:
        readers: ClassVar[dict[str, Callable[[Any], Any]]]
        defaults: ClassVar[dict[str, Any]]
    else:  # for mypy, every field is a plain attribute

        def __getattr__(self, name: str) -> Any:
            data = self.__dict__.get("_json")
            defaults = type(self).defaults
            if data is None or name not in defaults:
                raise AttributeError(name)
            if name in data:
                reader = type(self).readers.get(name)
                value = data[name] if reader is None else reader(data[name])
            else:
                value = defaults[name]
            self.__dict__[name] = value
            return value

    @classmethod
    def read(cls: type[L], data: dict[str, Any]) -> L:
        made = object.__new__(cls)
        made.__dict__["_json"] = data
        return made

    def source_json(self) -> dict[str, Any] | None:
        """The JSON it was read from (None: made by its constructor)."""
        data: dict[str, Any] | None = self.__dict__.get("_json")
        return data


def lazy(cls: type[L]) -> type[L]:
    """Decorator over @record for a Lazy record: its defaults, which __init__ keeps, leave
    the class, where they would answer for fields not read yet."""
    cls.defaults = {name: vars(cls).get(name) for name in fields(cls)}
    cls.readers = {}
    for name in fields(cls):
        if name in vars(cls):
            delattr(cls, name)
    return cls


def record_json(value: object) -> dict[str, Any]:
    """A record as JSON data: its keys sorted, tuples as lists, records inside converted."""
    own = getattr(value, "json_fields", None)
    names = own() if own is not None else fields(value)
    return {name: _json(getattr(value, name)) for name in sorted(names)}


def _json(value: Any) -> Any:
    if is_record(value):
        return record_json(value)
    if isinstance(value, list | tuple):
        return [_json(item) for item in value]
    return value


@record(frozen=True)
class PublishedPort:
    """A port published on the host (`-p`, `-P`), as the firewall made it: host_ip ""
    means every host address."""

    host_ip: str
    host_port: int
    container_port: int
    protocol: str = "tcp"

    @classmethod
    def from_json(cls, data: object) -> PublishedPort:
        body = _mapping(data)
        try:
            return cls(**body)  # the four keys shocker writes, as `ps` reads them by the 1000
        except TypeError:
            pass
        return cls(
            host_ip=str(body.get("host_ip") or ""),
            host_port=int(body.get("host_port", 0)),
            container_port=int(body.get("container_port", 0)),
            protocol=str(body.get("protocol", "tcp")),
        )


@lazy
@record(frozen=True)
class NetworkAttachment(Lazy):
    """The container's address on the bridge, recorded when it starts in bridge mode."""

    ip: str
    gateway: str = ""
    prefixlen: int = 0
    mac: str = ""
    bridge: str = ""
    mode: str = "bridge"

    @classmethod
    def from_json(cls, data: object) -> NetworkAttachment | None:
        """None for the `{}` of a container never attached to the bridge."""
        body = _mapping(data)
        return cls.read(body) if body.get("ip") else None


def network_json(network: NetworkAttachment | None) -> dict[str, Any]:
    if network is None:
        return {}
    source = network.source_json()
    return record_json(network) if source is None else source


def ports_json(ports: tuple[PublishedPort, ...]) -> list[dict[str, Any]]:
    return [record_json(p) for p in ports]


def ports_from_json(data: object) -> tuple[PublishedPort, ...]:
    return tuple(PublishedPort.from_json(p) for p in _items(data))


@record(frozen=True)
class VolumeMount:
    """A bind mount of `-v`, `--volumes-from` or an image's VOLUME. volume: the named
    volume's name (None for a host path); anonymous: made for the image's VOLUME, removed
    with the container (state.json has the key only when true)."""

    source: str
    destination: str
    readonly: bool = False
    volume: str | None = None
    anonymous: bool = False

    def json_fields(self) -> tuple[str, ...]:
        names = fields(self)
        return names if self.anonymous else tuple(n for n in names if n != "anonymous")

    @classmethod
    def from_json(cls, data: object) -> VolumeMount:
        body = _mapping(data)
        try:
            return cls(**body)  # the keys shocker writes (`ps --format {{.Mounts}}` reads them)
        except TypeError:
            pass
        return cls(
            source=str(body.get("source", "")),
            destination=str(body.get("destination", "")),
            readonly=bool(body.get("readonly", False)),
            volume=body.get("volume"),
            anonymous=bool(body.get("anonymous", False)),
        )


@record(frozen=True)
class DeviceMapping:
    """`--device HOST[:CONTAINER][:PERMISSIONS]`: the host node, made inside and allowed."""

    host_path: str
    container_path: str
    kind: str  # 'c' or 'b'
    major: int
    minor: int
    mode: int
    access: str


@record(frozen=True)
class ResourceLimits:
    """`-m`, `--cpu-shares`, `--cpus`, `--pids-limit`; None leaves the kernel's default."""

    memory_bytes: int | None = None
    cpu_shares: int | None = None
    cpu_quota_cores: float | None = None
    pids_max: int | None = None


@record(frozen=True)
class RestartPolicy:
    name: str = "no"
    maximum_retries: int = 0  # on-failure only; 0: no limit


@record(frozen=True)
class LogConfig:
    driver: str = "json-file"
    max_size: int | None = None  # bytes; None: never rotated
    max_files: int = 1


# Containers recorded without a log config log raw bytes (container.log).
RAW_LOG = LogConfig(driver="raw")


@lazy
@record(frozen=True, kw_only=True)
class ContainerConfig(Lazy):
    """Everything `start` needs to launch the container again."""

    argv: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    cwd: str = "/"
    user: str = ""
    hostname: str = ""
    tty: bool = False
    interactive: bool = False
    volumes: tuple[VolumeMount, ...] = ()
    network: str = "bridge"  # bridge, none, host or container:NAME
    ip: str | None = None  # --ip
    dns: tuple[str, ...] = ()
    publish: tuple[str, ...] = ()  # -p as given
    publish_all: bool = False
    exposed_ports: tuple[str, ...] = ()  # the image's, for -P
    privileged: bool = False
    capabilities: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    cgroupns: str = "private"
    read_only: bool = False
    tmpfs: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (path, mount options)
    sysctls: tuple[tuple[str, str], ...] = ()
    ulimits: tuple[tuple[int, int, int], ...] = ()  # (resource, soft, hard)
    devices: tuple[DeviceMapping, ...] = ()
    no_new_privileges: bool = True
    seccomp: bool = False  # its profile lives beside the record (seccomp.json)
    limits: ResourceLimits = ResourceLimits()
    stop_signal: str | None = None
    stop_timeout: int | None = None
    init: bool = False
    restart: RestartPolicy = RestartPolicy()
    log: LogConfig = RAW_LOG
    runtime: str | None = None  # another OCI runtime's binary; None: shocker's own
    userns_size: int | None = None  # --userns=auto's size; None: the host's namespace
    userns: IdAllocation | None = None  # its host id range, allocated with its id

    @classmethod
    def from_json(cls, data: object) -> ContainerConfig:
        return cls.read(data) if isinstance(data, dict) else cls()

    def to_json(self) -> dict[str, Any]:
        source = self.source_json()
        return record_json(self) if source is None else source


def _strings(data: object) -> tuple[str, ...]:
    return tuple(str(item) for item in _items(data))


ContainerConfig.readers = {
    **dict.fromkeys(
        ("argv", "env", "dns", "publish", "exposed_ports", "capabilities", "security_opt"),
        _strings,
    ),
    "volumes": lambda data: tuple(VolumeMount.from_json(v) for v in _items(data)),
    "tmpfs": lambda data: tuple((str(path), tuple(options)) for path, options in _items(data)),
    "sysctls": lambda data: tuple((str(key), str(value)) for key, value in _items(data)),
    "ulimits": lambda data: tuple((int(r), int(s), int(h)) for r, s, h in _items(data)),
    "devices": lambda data: tuple(_flat(DeviceMapping, d) for d in _items(data)),
    "limits": lambda data: _flat(ResourceLimits, data),
    "restart": lambda data: _flat(RestartPolicy, data) if data else RestartPolicy(),
    "log": lambda data: _flat(LogConfig, data) if data else RAW_LOG,
    "userns": lambda data: _flat(IdAllocation, data) if data else None,
}
