"""The OCI runtime spec's config.json (opencontainers/runtime-spec config.md, config-linux.md)
as typed records: `parse` validates a decoded document, `to_json` writes one back.

Unknown properties are ignored, as the spec asks, except inside the objects that decide a
container's confinement (process, linux and everything below them, mounts, root): there an
unknown or unsupported field is refused, naming it, so nothing meant to confine is dropped.
"""

from __future__ import annotations

from shocker.errors import ShockerError

# The seccomp records are the seccomp module's; re-exported as part of the model.
from shocker.oci.seccomp import Seccomp as Seccomp
from shocker.oci.seccomp import SeccompArg as SeccompArg
from shocker.oci.seccomp import SeccompSyscall as SeccompSyscall
from shocker.oci.specversion import OCI_VERSION as OCI_VERSION
from shocker.record import record
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


NAMESPACE_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")
RLIMIT_TYPES = (
    "RLIMIT_AS",
    "RLIMIT_CORE",
    "RLIMIT_CPU",
    "RLIMIT_DATA",
    "RLIMIT_FSIZE",
    "RLIMIT_LOCKS",
    "RLIMIT_MEMLOCK",
    "RLIMIT_MSGQUEUE",
    "RLIMIT_NICE",
    "RLIMIT_NOFILE",
    "RLIMIT_NPROC",
    "RLIMIT_RSS",
    "RLIMIT_RTPRIO",
    "RLIMIT_RTTIME",
    "RLIMIT_SIGPENDING",
    "RLIMIT_STACK",
)


class SpecError(ShockerError):
    """config.json is malformed or asks for something this runtime does not do."""


# ---- the records -------------------------------------------------------------------------


@record(frozen=True, kw_only=True)
class User:
    uid: int = 0
    gid: int = 0
    umask: int | None = None
    additional_gids: tuple[int, ...] = ()


@record(frozen=True, kw_only=True)
class Capabilities:
    bounding: tuple[str, ...] = ()
    effective: tuple[str, ...] = ()
    inheritable: tuple[str, ...] = ()
    permitted: tuple[str, ...] = ()
    ambient: tuple[str, ...] = ()

    @classmethod
    def same(cls, names: tuple[str, ...]) -> Capabilities:
        """Docker's shape: bounding, effective and permitted alike; no inheritable/ambient."""
        return cls(bounding=names, effective=names, permitted=names)


@record(frozen=True)
class Rlimit:
    type: str  # RLIMIT_NOFILE, ...
    hard: int
    soft: int


@record(frozen=True)
class ConsoleSize:
    height: int
    width: int


@record(frozen=True, kw_only=True)
class Process:
    args: tuple[str, ...]
    env: tuple[str, ...] = ()
    cwd: str = "/"
    user: User = User()
    terminal: bool = False
    console_size: ConsoleSize | None = None
    capabilities: Capabilities | None = None
    rlimits: tuple[Rlimit, ...] = ()
    no_new_privileges: bool = False
    oom_score_adj: int | None = None


@record(frozen=True, kw_only=True)
class Root:
    path: str
    readonly: bool = False


@record(frozen=True, kw_only=True)
class Mount:
    destination: str
    type: str = ""
    source: str = ""
    options: tuple[str, ...] = ()


@record(frozen=True, kw_only=True)
class Namespace:
    type: str  # one of NAMESPACE_TYPES
    path: str = ""  # join this one instead of creating a new one


@record(frozen=True, kw_only=True)
class IdMapping:
    container_id: int
    host_id: int
    size: int


@record(frozen=True, kw_only=True)
class DeviceRule:
    """linux.resources.devices: an allow/deny entry of the device cgroup."""

    allow: bool
    type: str = "a"  # a, b, c
    major: int | None = None  # None: any (*)
    minor: int | None = None
    access: str = "rwm"


@record(frozen=True, kw_only=True)
class Memory:
    limit: int | None = None
    reservation: int | None = None
    swap: int | None = None
    swappiness: int | None = None
    disable_oom_killer: bool | None = None


@record(frozen=True, kw_only=True)
class Cpu:
    shares: int | None = None
    quota: int | None = None
    period: int | None = None
    cpus: str = ""
    mems: str = ""


@record(frozen=True, kw_only=True)
class Pids:
    limit: int


@record(frozen=True, kw_only=True)
class Resources:
    devices: tuple[DeviceRule, ...] = ()
    memory: Memory | None = None
    cpu: Cpu | None = None
    pids: Pids | None = None


@record(frozen=True, kw_only=True)
class Device:
    """linux.devices: a node the runtime creates in the container's /dev."""

    path: str
    type: str  # c, b, u, p
    major: int = 0
    minor: int = 0
    file_mode: int | None = None
    uid: int | None = None
    gid: int | None = None


@record(frozen=True, kw_only=True)
class Linux:
    namespaces: tuple[Namespace, ...] = ()
    uid_mappings: tuple[IdMapping, ...] = ()
    gid_mappings: tuple[IdMapping, ...] = ()
    devices: tuple[Device, ...] = ()
    resources: Resources | None = None
    cgroups_path: str = ""
    sysctl: tuple[tuple[str, str], ...] = ()  # (key, value) in file order
    seccomp: Seccomp | None = None
    masked_paths: tuple[str, ...] = ()
    readonly_paths: tuple[str, ...] = ()
    rootfs_propagation: str = ""

    def namespace(self, kind: str) -> Namespace | None:
        return next((ns for ns in self.namespaces if ns.type == kind), None)


@record(frozen=True, kw_only=True)
class Spec:
    oci_version: str = OCI_VERSION
    root: Root
    process: Process | None = None
    hostname: str = ""
    domainname: str = ""
    mounts: tuple[Mount, ...] = ()
    linux: Linux = Linux()
    annotations: tuple[tuple[str, str], ...] = ()


# ---- reading and writing: in modules of their own, imported when first used ---------------


def parse(document: object) -> Spec:
    """A decoded config.json as a Spec; SpecError names the first field that is wrong."""
    from shocker.oci import runtime_spec_parser

    return runtime_spec_parser.parse(document)


def loads(text: str | bytes) -> Spec:
    """config.json's text as a Spec; SpecError when it is not JSON or not a valid spec."""
    from shocker.oci import runtime_spec_parser

    return runtime_spec_parser.loads(text)


def parse_process(document: object) -> Process:
    """A process.json as `runc exec --process` takes it: the spec's process object alone."""
    from shocker.oci import runtime_spec_parser

    return runtime_spec_parser.parse_process(document)


def parse_resources(document: object) -> Resources:
    """A resources.json as `runc update --resources` takes it: linux.resources alone."""
    from shocker.oci import runtime_spec_parser

    return runtime_spec_parser.parse_resources(document)


def to_json(spec: Spec) -> dict[str, Any]:
    """The Spec as a config.json document."""
    from shocker.oci import runtime_spec_writer

    return runtime_spec_writer.to_json(spec)


def dumps(spec: Spec) -> str:
    """The Spec as config.json's text."""
    from shocker.oci import runtime_spec_writer

    return runtime_spec_writer.dumps(spec)
