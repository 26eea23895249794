"""The confinement sequence of a container process, as data, and the one executor that runs
it — for a container's init and for `exec` alike:

    mounts -> pivot_root -> working directory -> root read-only -> hostname/sysctl
           -> masked/read-only paths -> rlimits
           -> user namespace -> user/groups -> capabilities -> no_new_privs -> seccomp
           -> execve

The user namespace (linux.uidMappings/gidMappings) is made beforehand with its mappings and
joined only here, after every mount and limit was set by the host's root: the process then
holds capabilities in its own user namespace alone.

sysctl comes before the read-only paths because /proc/sys is one of them (runc's order).
Named barriers (`Barrier`) are where the caller's process joins in: hand over a terminal,
report readiness, wait for `start`. Nothing runs after the seccomp filter except execve.
"""

from __future__ import annotations

import os
import resource

from shocker.errors import RuntimeFailure
from shocker.linux import idmap, syscalls
from shocker.oci.runtime_spec import Capabilities, Process, Rlimit, Spec
from shocker.record import record
from shocker.runtime import capabilities, rootfs
from shocker.runtime.failure import step
from shocker.runtime.plan import ConfinementStep, hidden_paths
from shocker.runtime.plan import Step as MountPlanStep
from shocker.runtime.rootfs import IdMappedRoot
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import NoReturn


@record(frozen=True)
class Mounts:
    rootfs: str  # host path
    steps: tuple[MountPlanStep, ...]
    propagation: str = "rprivate"
    # With a user namespace of its own: the root is bound idmapped through it.
    idmap: IdMappedRoot | None = None


@record(frozen=True)
class PivotRoot:
    rootfs: str


@record(frozen=True)
class WorkingDirectory:
    """process.cwd, made when missing (as runc and Docker do), before the root may turn
    read-only; as container root's host ids where the root is idmapped."""

    path: str
    owner: tuple[int, int] | None = None


@record(frozen=True)
class ReadonlyRoot:
    pass


@record(frozen=True)
class Hostname:
    name: str


@record(frozen=True)
class Sysctl:
    settings: tuple[tuple[str, str], ...]


@record(frozen=True)
class HidePaths:
    """Masked and read-only paths, in the spec's order."""

    steps: tuple[ConfinementStep, ...]


@record(frozen=True)
class Rlimits:
    limits: tuple[Rlimit, ...]


@record(frozen=True)
class JoinUserNamespace:
    fd: int  # the namespace, opened (or made) before the fork


@record(frozen=True)
class SetUser:
    uid: int
    gid: int
    groups: tuple[int, ...]
    umask: int | None = None


@record(frozen=True)
class SetCapabilities:
    bounding: frozenset[str]
    effective: frozenset[str]
    permitted: frozenset[str]
    inheritable: frozenset[str]
    ambient: frozenset[str]


@record(frozen=True)
class NoNewPrivileges:
    pass


@record(frozen=True)
class LoadSeccomp:
    program: bytes  # compiled BPF (see runtime/seccomp.py)


@record(frozen=True)
class Barrier:
    """A point where the caller's callback runs (terminal hand-over, readiness, start)."""

    name: str


@record(frozen=True)
class Execute:
    args: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str
    # `run --init`: a sealed copy of tini (a memfd) runs as pid 1, with args as its child.
    init_program: int = -1


SequenceStep = (
    Mounts
    | PivotRoot
    | WorkingDirectory
    | ReadonlyRoot
    | Hostname
    | Sysctl
    | HidePaths
    | Rlimits
    | JoinUserNamespace
    | SetUser
    | SetCapabilities
    | NoNewPrivileges
    | LoadSeccomp
    | Barrier
    | Execute
)


def process_steps(
    process: Process, seccomp: bytes | None, userns: int | None = None, init_program: int = -1
) -> list[SequenceStep]:
    """What every container process goes through once it is inside: rlimits, its user
    namespace, who it runs as, its capabilities, no_new_privs, the filter, execve.

    The filter goes last (runc's order), so it need not allow the runtime's own set-up
    calls; without no_new_privs it comes before the user and capabilities change, as only
    CAP_SYS_ADMIN may install one then (runc does the same)."""
    steps: list[SequenceStep] = [Barrier("terminal")] if process.terminal else []
    if process.rlimits:
        steps.append(Rlimits(process.rlimits))
    if userns is not None:
        steps.append(JoinUserNamespace(userns))
    if seccomp is not None and not process.no_new_privileges:
        steps.append(LoadSeccomp(seccomp))
        seccomp = None
    user = process.user
    # The supplementary groups are additionalGids, exactly (runc and crun set no others).
    steps.append(SetUser(user.uid, user.gid, user.additional_gids, user.umask))
    # No capabilities object is no capabilities, as runc and crun read it, not the runtime's.
    caps = process.capabilities or Capabilities()
    steps.append(
        SetCapabilities(
            frozenset(caps.bounding),
            frozenset(caps.effective),
            frozenset(caps.permitted),
            frozenset(caps.inheritable),
            frozenset(caps.ambient),
        )
    )
    if process.no_new_privileges:
        steps.append(NoNewPrivileges())
    steps.append(Barrier("ready"))
    if seccomp is not None:
        steps.append(LoadSeccomp(seccomp))
    steps.append(Execute(process.args, process.env, process.cwd, init_program))
    return steps


def init_steps(
    spec: Spec,
    rootfs_path: str,
    mounts: Sequence[MountPlanStep],
    seccomp: bytes | None,
    userns: int | None = None,
    *,
    idmap: IdMappedRoot | None = None,
    init_program: int = -1,
) -> list[SequenceStep]:
    """A container's init, from its spec: the filesystem, then process_steps.

    idmap: the root bound idmapped (shocker's own runtime with a user namespace);
    init_program: `run --init`'s sealed tini."""
    assert spec.process is not None
    linux = spec.linux
    owner = idmap.owner if idmap is not None else None
    return [
        Mounts(rootfs_path, tuple(mounts), linux.rootfs_propagation or "rprivate", idmap),
        PivotRoot(rootfs_path),
        WorkingDirectory(spec.process.cwd, owner),
        *root_steps(spec.root.readonly, spec.hostname, linux.sysctl, hidden_paths(spec)),
        *process_steps(spec.process, seccomp, userns, init_program),
    ]


def root_steps(
    readonly: bool,
    hostname: str,
    sysctl: Sequence[tuple[str, str]],
    hidden: Sequence[ConfinementStep],
) -> list[SequenceStep]:
    """What follows pivot_root: the root read-only, the hostname, sysctls, then the masked
    and read-only paths."""
    steps: list[SequenceStep] = [ReadonlyRoot()] if readonly else []
    if hostname:
        steps.append(Hostname(hostname))
    if sysctl:
        steps.append(Sysctl(tuple(sysctl)))
    if hidden:
        steps.append(HidePaths(tuple(hidden)))
    return steps


def run(
    steps: Sequence[SequenceStep], barriers: dict[str, Callable[[], None]], trampoline: int
) -> NoReturn:
    """Execute the steps in order; the last one is execve, through the sealed trampoline
    (linux/sealedexec.py). Any failure raises RuntimeFailure naming the step, before the
    command ever runs."""
    for item in steps:
        if isinstance(item, Execute):
            from shocker.runtime.process import execute

            execute(item.args, list(item.env), item.cwd, trampoline, init_program=item.init_program)
        _EXECUTORS[type(item)](item, barriers)
    raise RuntimeFailure("the sequence has no execve step")


def _mounts(item: Mounts, _: object) -> None:
    rootfs.prepare(item.rootfs, list(item.steps), propagation=item.propagation, idmap=item.idmap)


def _pivot_root(item: PivotRoot, _: object) -> None:
    rootfs.switch_root(item.rootfs)


def _working_directory(item: WorkingDirectory, _: object) -> None:
    from pathlib import Path

    with step(f"create working directory {item.path}"):
        try:
            Path(item.path).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            if not idmap.retry_as(item.owner, error):
                raise
            assert item.owner is not None
            with idmap.filesystem_ids(*item.owner):
                Path(item.path).mkdir(parents=True, exist_ok=True)


def _readonly_root(_: ReadonlyRoot, __: object) -> None:
    with step("remount / read-only"):
        rootfs.remount_readonly("/", recursive=False)


def _hostname(item: Hostname, _: object) -> None:
    import _socket

    with step("sethostname"):
        _socket.sethostname(item.name)


def _sysctl(item: Sysctl, _: object) -> None:
    for key, value in item.settings:
        path = "/proc/sys/" + key.replace(".", "/")
        with step(f"sysctl {key}"):
            if ".." in key.split("."):
                raise OSError(22, "invalid sysctl name")
            with open(path, "w") as f:
                f.write(value)


def _hide(item: HidePaths, _: object) -> None:
    rootfs.confine(list(item.steps))


_RLIMITS = {name: getattr(resource, name) for name in dir(resource) if name.startswith("RLIMIT_")}


def _rlimits(item: Rlimits, _: object) -> None:
    for limit in item.limits:
        with step(f"setrlimit {limit.type}"):
            number = _RLIMITS.get(limit.type)
            if number is None:
                raise OSError(22, "not known on this system")
            # The spec's unlimited is 2**64-1 (RLIM_INFINITY as the kernel has it); Python's
            # setrlimit takes a C long, where that is -1.
            resource.setrlimit(number, (_limit(limit.soft), _limit(limit.hard)))


def _limit(value: int) -> int:
    return resource.RLIM_INFINITY if value >= 2**63 or value == -1 else value


def _join_user_namespace(item: JoinUserNamespace, _: object) -> None:
    with step("join user namespace"):
        idmap.join(item.fd)


def _set_user(item: SetUser, _: object) -> None:
    with step("set user"):
        # Keep the permitted set across setuid; SetCapabilities trims it afterwards.
        syscalls.set_keep_capabilities(True)
        os.setgroups(list(dict.fromkeys(item.groups)))
        os.setgid(item.gid)
        os.setuid(item.uid)
        syscalls.set_keep_capabilities(False)
        if item.umask is not None:
            os.umask(item.umask)


_SETPCAP = capabilities.CAPABILITY_NUMBERS["CAP_SETPCAP"]


def _set_capabilities(item: SetCapabilities, _: object) -> None:
    """Bounding set, then effective/permitted/inheritable, then ambient (runc's order).
    The effective set is first raised to what is permitted: setuid away from root cleared
    it, and dropping from the bounding set needs CAP_SETPCAP."""
    with step("capabilities: effective"):
        _, held, _ = syscalls.capget()
        syscalls.capset(held, held, 0)
    with step("capabilities: bounding set"):
        keep_bounding = capabilities.mask(item.bounding)
        for number in range(capabilities.last_capability() + 1):
            if not keep_bounding & (1 << number) and held & (1 << _SETPCAP):
                syscalls.drop_bounding_capability(number)
    with step("capabilities: capset"):
        # A capability the runtime does not hold cannot be granted: keep the intersection.
        permitted = capabilities.mask(item.permitted) & held
        syscalls.capset(
            capabilities.mask(item.effective) & permitted,
            permitted,
            capabilities.mask(item.inheritable) & permitted,
        )
    with step("capabilities: ambient"):
        syscalls.clear_ambient_capabilities()
        # The kernel keeps ambient within permitted and inheritable; one outside them
        # cannot be held, so it is not raised (as runc, whose default spec asks for it).
        possible = permitted & capabilities.mask(item.inheritable)
        for name in sorted(item.ambient):
            if possible & (1 << capabilities.CAPABILITY_NUMBERS[name]):
                syscalls.raise_ambient_capability(capabilities.CAPABILITY_NUMBERS[name])


def _no_new_privileges(_: NoNewPrivileges, __: object) -> None:
    with step("no_new_privs"):
        syscalls.set_no_new_privs()


def _load_seccomp(item: LoadSeccomp, _: object) -> None:
    from shocker.linux.seccomp import load_filter

    with step("seccomp"):
        load_filter(item.program)


def _barrier(item: Barrier, barriers: dict[str, Callable[[], None]]) -> None:
    callback = barriers.get(item.name)
    if callback is not None:
        callback()


_EXECUTORS: dict[type, Callable[[object, dict[str, Callable[[], None]]], None]] = {
    Mounts: _mounts,  # type: ignore[dict-item]
    PivotRoot: _pivot_root,  # type: ignore[dict-item]
    WorkingDirectory: _working_directory,  # type: ignore[dict-item]
    ReadonlyRoot: _readonly_root,  # type: ignore[dict-item]
    Hostname: _hostname,  # type: ignore[dict-item]
    Sysctl: _sysctl,  # type: ignore[dict-item]
    HidePaths: _hide,  # type: ignore[dict-item]
    Rlimits: _rlimits,  # type: ignore[dict-item]
    JoinUserNamespace: _join_user_namespace,  # type: ignore[dict-item]
    SetUser: _set_user,  # type: ignore[dict-item]
    SetCapabilities: _set_capabilities,  # type: ignore[dict-item]
    NoNewPrivileges: _no_new_privileges,  # type: ignore[dict-item]
    LoadSeccomp: _load_seccomp,  # type: ignore[dict-item]
    Barrier: _barrier,  # type: ignore[dict-item]
}


def names(steps: Sequence[SequenceStep]) -> list[str]:
    """The steps' kinds in order, for tests and `--explain`."""
    return [type(s).__name__ for s in steps]
