"""Reading config.json into the records of shocker.oci.runtime_spec: typed getters that name
the field in their errors, and strict objects that refuse what they do not understand."""

from __future__ import annotations

import json

from shocker.errors import UsageError
from shocker.oci.capabilities import CAPABILITY_NAMES
from shocker.oci.runtime_spec import (
    NAMESPACE_TYPES,
    RLIMIT_TYPES,
    Capabilities,
    ConsoleSize,
    Cpu,
    Device,
    DeviceRule,
    IdMapping,
    Linux,
    Memory,
    Mount,
    Namespace,
    Pids,
    Process,
    Resources,
    Rlimit,
    Root,
    Seccomp,
    Spec,
    SpecError,
    User,
)
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


class _Object:
    """One JSON object being read: typed getters that name the field in their errors, and
    (for a strict object) a final check that every key was understood."""

    def __init__(self, value: object, where: str, strict: bool) -> None:
        if not isinstance(value, dict):
            raise SpecError(f"config.json: {where} must be an object")
        self.data: dict[str, Any] = value
        self.where = where
        self.strict = strict
        self.seen: set[str] = set()

    def _get(self, key: str) -> Any:
        self.seen.add(key)
        return self.data.get(key)

    def _name(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, why: str) -> SpecError:
        return SpecError(f"config.json: {self._name(key)} {why}")

    def string(self, key: str, default: str = "", *, required: bool = False) -> str:
        value = self._get(key)
        if value is None:
            if required:
                raise self.fail(key, "is required")
            return default
        if not isinstance(value, str):
            raise self.fail(key, "must be a string")
        return value

    def integer(self, key: str, *, required: bool = False) -> int | None:
        value = self._get(key)
        if value is None:
            if required:
                raise self.fail(key, "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, "must be an integer")
        return value

    def required_int(self, key: str) -> int:
        value = self.integer(key, required=True)
        assert value is not None
        return value

    def boolean(self, key: str) -> bool | None:
        value = self._get(key)
        if value is not None and not isinstance(value, bool):
            raise self.fail(key, "must be true or false")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self._get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, "must be a list of strings")
        return tuple(value)

    def integers(self, key: str) -> tuple[int, ...]:
        value = self._get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise self.fail(key, "must be a list of integers")
        return tuple(value)

    def object(self, key: str, *, strict: bool | None = None) -> _Object | None:
        value = self._get(key)
        if value is None:
            return None
        return _Object(value, self._name(key), self.strict if strict is None else strict)

    def objects(self, key: str) -> list[_Object]:
        value = self._get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, "must be a list")
        return [_Object(v, f"{self._name(key)}[{i}]", self.strict) for i, v in enumerate(value)]

    def string_map(self, key: str) -> tuple[tuple[str, str], ...]:
        value = self._get(key)
        if value is None:
            return ()
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise self.fail(key, "must be an object of strings")
        return tuple(value.items())

    def refuse_set(self, *keys: str) -> None:
        """Fields this runtime does not implement: an error when they ask for anything."""
        for key in keys:
            if self._get(key) not in (None, "", [], {}):
                raise self.fail(key, "is not supported by this runtime")

    def done(self) -> None:
        if not self.strict:
            return
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise self.fail(unknown[0], "is not a field this runtime knows")


def _choice(obj: _Object, key: str, allowed: tuple[str, ...], *, required: bool = True) -> str:
    value = obj.string(key, required=required)
    if value and value not in allowed:
        raise obj.fail(key, f"has an unknown value {value!r}")
    return value


def _capability_names(obj: _Object, key: str) -> tuple[str, ...]:
    names = obj.strings(key)
    for name in names:
        if name not in CAPABILITY_NAMES:
            raise obj.fail(key, f"names an unknown capability {name!r}")
    return names


def _user(obj: _Object) -> User:
    obj.refuse_set("username")  # Windows only
    user = User(
        uid=obj.required_int("uid"),
        gid=obj.required_int("gid"),
        umask=obj.integer("umask"),
        additional_gids=obj.integers("additionalGids"),
    )
    obj.done()
    return user


def _capabilities(obj: _Object) -> Capabilities:
    caps = Capabilities(
        bounding=_capability_names(obj, "bounding"),
        effective=_capability_names(obj, "effective"),
        inheritable=_capability_names(obj, "inheritable"),
        permitted=_capability_names(obj, "permitted"),
        ambient=_capability_names(obj, "ambient"),
    )
    obj.done()
    return caps


def _rlimit(obj: _Object) -> Rlimit:
    limit = Rlimit(
        _choice(obj, "type", RLIMIT_TYPES), obj.required_int("hard"), obj.required_int("soft")
    )
    obj.done()
    return limit


def _process(obj: _Object) -> Process:
    args = obj.strings("args")
    if not args:
        raise obj.fail("args", "must name the program to run")
    user = obj.object("user")
    caps = obj.object("capabilities")
    size = obj.object("consoleSize")
    console = None
    if size is not None:
        console = ConsoleSize(size.required_int("height"), size.required_int("width"))
        size.done()
    # No LSM is enforced here, so asking for a profile or label is refused, not ignored.
    obj.refuse_set("apparmorProfile", "selinuxLabel", "ioPriority", "scheduler", "execCPUAffinity")
    obj.refuse_set("commandLine")  # Windows only
    process = Process(
        args=args,
        env=obj.strings("env"),
        cwd=obj.string("cwd", "/"),
        user=_user(user) if user is not None else User(),
        terminal=bool(obj.boolean("terminal")),
        console_size=console,
        capabilities=_capabilities(caps) if caps is not None else None,
        rlimits=tuple(_rlimit(r) for r in obj.objects("rlimits")),
        no_new_privileges=bool(obj.boolean("noNewPrivileges")),
        oom_score_adj=obj.integer("oomScoreAdj"),
    )
    if not process.cwd.startswith("/"):
        raise obj.fail("cwd", "must be an absolute path")
    obj.done()
    return process


def _mount(obj: _Object) -> Mount:
    obj.refuse_set("uidMappings", "gidMappings")  # id-mapped mounts
    mount = Mount(
        destination=obj.string("destination", required=True),
        type=obj.string("type"),
        source=obj.string("source"),
        options=obj.strings("options"),
    )
    if not mount.destination.startswith("/"):
        raise obj.fail("destination", "must be an absolute path")
    obj.done()
    return mount


def _id_mapping(obj: _Object) -> IdMapping:
    mapping = IdMapping(
        container_id=obj.required_int("containerID"),
        host_id=obj.required_int("hostID"),
        size=obj.required_int("size"),
    )
    obj.done()
    return mapping


def _device_number(obj: _Object, key: str) -> int | None:
    value = obj.integer(key)
    return None if value is None or value < 0 else value


def _device_rule(obj: _Object) -> DeviceRule:
    allow = obj.boolean("allow")
    if allow is None:
        raise obj.fail("allow", "is required")
    rule = DeviceRule(
        allow=allow,
        type=_choice(obj, "type", ("a", "b", "c"), required=False) or "a",
        major=_device_number(obj, "major"),
        minor=_device_number(obj, "minor"),
        access=obj.string("access", "rwm"),
    )
    if not rule.access or set(rule.access) - set("rwm"):
        raise obj.fail("access", f"must be letters of 'rwm', not {rule.access!r}")
    obj.done()
    return rule


def _resources(obj: _Object) -> Resources:
    obj.refuse_set("blockIO", "hugepageLimits", "network", "rdma", "unified")
    memory = obj.object("memory")
    cpu = obj.object("cpu")
    pids = obj.object("pids")
    result = Resources(
        devices=tuple(_device_rule(d) for d in obj.objects("devices")),
        memory=_memory(memory) if memory is not None else None,
        cpu=_cpu(cpu) if cpu is not None else None,
        pids=Pids(limit=pids.required_int("limit")) if pids is not None else None,
    )
    if pids is not None:
        pids.done()
    obj.done()
    return result


def _memory(obj: _Object) -> Memory:
    # kernel/kernelTCP are deprecated in the spec and ignored by runc on recent kernels.
    obj.integer("kernel")
    obj.integer("kernelTCP")
    obj.refuse_set("useHierarchy", "checkBeforeUpdate")
    memory = Memory(
        limit=obj.integer("limit"),
        reservation=obj.integer("reservation"),
        swap=obj.integer("swap"),
        swappiness=obj.integer("swappiness"),
        disable_oom_killer=obj.boolean("disableOOMKiller"),
    )
    obj.done()
    return memory


def _cpu(obj: _Object) -> Cpu:
    obj.refuse_set("realtimeRuntime", "realtimePeriod", "idle", "burst")
    cpu = Cpu(
        shares=obj.integer("shares"),
        quota=obj.integer("quota"),
        period=obj.integer("period"),
        cpus=obj.string("cpus"),
        mems=obj.string("mems"),
    )
    obj.done()
    return cpu


_SECCOMP_KEYS = {"defaultAction", "defaultErrnoRet", "architectures", "syscalls"}
_SYSCALL_KEYS = {"names", "action", "errnoRet", "args"}
_ARG_KEYS = {"index", "value", "valueTwo", "op"}


def _seccomp(obj: _Object) -> Seccomp:
    """linux.seccomp through the seccomp module's own parser, after refusing any field it
    would not apply (a notify listener, filter flags, a misspelt key)."""
    obj.refuse_set("listenerPath", "listenerMetadata", "flags")
    obj.seen |= _SECCOMP_KEYS
    obj.done()
    for rule in obj.objects("syscalls"):
        rule.seen |= _SYSCALL_KEYS
        rule.done()
        for arg in rule.objects("args"):
            arg.seen |= _ARG_KEYS
            arg.done()
    try:
        return Seccomp.from_json(obj.data, obj.where)
    except UsageError as error:
        raise SpecError(f"config.json: {error.message}") from None


def _device(obj: _Object) -> Device:
    device = Device(
        path=obj.string("path", required=True),
        type=_choice(obj, "type", ("c", "b", "u", "p")),
        major=obj.integer("major") or 0,
        minor=obj.integer("minor") or 0,
        file_mode=obj.integer("fileMode"),
        uid=obj.integer("uid"),
        gid=obj.integer("gid"),
    )
    obj.done()
    return device


def _namespace(obj: _Object) -> Namespace:
    namespace = Namespace(type=_choice(obj, "type", NAMESPACE_TYPES), path=obj.string("path"))
    obj.done()
    return namespace


def _linux(obj: _Object) -> Linux:
    obj.refuse_set("mountLabel", "intelRdt", "personality", "timeOffsets")
    namespaces = tuple(_namespace(n) for n in obj.objects("namespaces"))
    kinds = [ns.type for ns in namespaces]
    for kind in kinds:
        if kinds.count(kind) > 1:
            raise obj.fail("namespaces", f"lists {kind!r} twice")
    resources = obj.object("resources")
    seccomp = obj.object("seccomp")
    linux = Linux(
        namespaces=namespaces,
        uid_mappings=tuple(_id_mapping(m) for m in obj.objects("uidMappings")),
        gid_mappings=tuple(_id_mapping(m) for m in obj.objects("gidMappings")),
        devices=tuple(_device(d) for d in obj.objects("devices")),
        resources=_resources(resources) if resources is not None else None,
        cgroups_path=obj.string("cgroupsPath"),
        sysctl=obj.string_map("sysctl"),
        seccomp=_seccomp(seccomp) if seccomp is not None else None,
        masked_paths=obj.strings("maskedPaths"),
        readonly_paths=obj.strings("readonlyPaths"),
        rootfs_propagation=_choice(
            obj,
            "rootfsPropagation",
            ("private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable"),
            required=False,
        ),
    )
    obj.done()
    return linux


def parse(document: object) -> Spec:
    """A decoded config.json as a Spec; SpecError names the first field that is wrong."""
    top = _Object(document, "", strict=False)
    top.refuse_set("hooks", "windows", "solaris", "vm", "zos")
    version = top.string("ociVersion", required=True)
    if not version.startswith("1."):
        raise top.fail("ociVersion", f"{version!r} is not a 1.x version")
    root = top.object("root", strict=True)
    if root is None:
        raise top.fail("root", "is required")
    process = top.object("process", strict=True)
    linux = top.object("linux", strict=True)
    spec = Spec(
        oci_version=version,
        root=Root(path=root.string("path", required=True), readonly=bool(root.boolean("readonly"))),
        process=_process(process) if process is not None else None,
        hostname=top.string("hostname"),
        domainname=top.string("domainname"),
        mounts=tuple(_mount(_strict(m)) for m in top.objects("mounts")),
        linux=_linux(linux) if linux is not None else Linux(),
        annotations=top.string_map("annotations"),
    )
    root.done()
    return spec


def _strict(obj: _Object) -> _Object:
    obj.strict = True
    return obj


def loads(text: str | bytes) -> Spec:
    try:
        document = json.loads(text)
    except ValueError as e:
        raise SpecError(f"config.json is not valid JSON: {e}") from None
    return parse(document)


def parse_process(document: object) -> Process:
    """A process.json as `runc exec --process` takes it: the spec's process object alone."""
    return _process(_Object(document, "process", strict=True))


def parse_resources(document: object) -> Resources:
    """A resources.json as `runc update --resources` takes it: linux.resources alone."""
    return _resources(_Object(document, "resources", strict=True))
