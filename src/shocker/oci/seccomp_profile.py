"""Docker's seccomp profile format (`--security-opt seccomp=FILE`, moby profiles/seccomp) and
its resolution into the runtime spec's `linux.seccomp` for one container.

A Docker profile is an OCI seccomp section plus conditions per rule: `includes` (every
listed capability held, the architecture listed, the kernel at least `minKernel`) and
`excludes` (any listed capability held, ...); `archMap` picks the native architecture's
sub-architectures. Resolution keeps the rules whose conditions hold, as moby's setupSeccomp.
"""

from __future__ import annotations

import os

from shocker.errors import UsageError
from shocker.oci.seccomp import (
    ARCHITECTURES,
    Seccomp,
    SeccompArg,
    SeccompSyscall,
    action_name,
    syscall_from_json,
)
from shocker.record import field, record
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

# uname -m -> the architecture names a profile's includes/excludes use (Go's, as moby).
NATIVE_ARCH = {
    "x86_64": "amd64",
    "i686": "x86",
    "i386": "x86",
    "aarch64": "arm64",
    "armv7l": "arm",
    "armv6l": "arm",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "loongarch64": "loong64",
    "mips64": "mips64",
}
# The same architectures as libseccomp names them.
SCMP_ARCH = {
    "amd64": "SCMP_ARCH_X86_64",
    "x86": "SCMP_ARCH_X86",
    "x32": "SCMP_ARCH_X32",
    "arm64": "SCMP_ARCH_AARCH64",
    "arm": "SCMP_ARCH_ARM",
    "ppc64le": "SCMP_ARCH_PPC64LE",
    "s390x": "SCMP_ARCH_S390X",
    "s390": "SCMP_ARCH_S390",
    "riscv64": "SCMP_ARCH_RISCV64",
    "loong64": "SCMP_ARCH_LOONGARCH64",
    "mips64": "SCMP_ARCH_MIPS64",
}


@record(frozen=True)
class Condition:
    """A rule's `includes` or `excludes`."""

    caps: tuple[str, ...] = ()
    arches: tuple[str, ...] = ()
    min_kernel: tuple[int, ...] | None = None


@record(frozen=True)
class ProfileRule:
    syscall: SeccompSyscall
    includes: Condition = field(default_factory=Condition)
    excludes: Condition = field(default_factory=Condition)


@record(frozen=True)
class Profile:
    default_action: str
    default_errno_ret: int | None = None
    architectures: tuple[str, ...] = ()
    arch_map: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (arch, its sub-arches)
    rules: tuple[ProfileRule, ...] = ()


@record(frozen=True)
class Host:
    """What resolution depends on besides the capabilities."""

    arch: str  # Go-style: amd64, arm64...
    kernel: tuple[int, ...]


def this_host() -> Host:
    uname = os.uname()
    return Host(NATIVE_ARCH.get(uname.machine, uname.machine), kernel_version(uname.release))


def kernel_version(release: str) -> tuple[int, ...]:
    """`6.1.0-18-amd64` -> (6, 1, 0)."""
    numbers: list[int] = []
    for part in release.split("-", 1)[0].split(".")[:3]:
        digits = "".join(c for c in part if c.isdigit()) if part[:1].isdigit() else ""
        if not digits:
            break
        numbers.append(int(digits))
    return tuple(numbers)


def resolve(profile: Profile, capabilities: Iterable[str], host: Host) -> Seccomp:
    """The profile's rules that apply to a process with these (bounding) capabilities."""
    held = frozenset(capabilities)
    architectures = list(profile.architectures)
    native = SCMP_ARCH.get(host.arch)
    for arch, subs in profile.arch_map:
        if arch == native:
            architectures += [arch, *subs]
            break
    syscalls = [
        rule.syscall
        for rule in profile.rules
        if _holds(rule.includes, held, host, every=True)
        and not _holds(rule.excludes, held, host, every=False)
    ]
    return Seccomp(
        default_action=profile.default_action,
        default_errno_ret=profile.default_errno_ret,
        architectures=tuple(architectures),
        syscalls=tuple(syscalls),
    )


def _holds(condition: Condition, held: frozenset[str], host: Host, *, every: bool) -> bool:
    """includes (every=True): all that are given hold; excludes: any given one holds."""
    tests: list[bool] = []
    if condition.arches:
        tests.append(host.arch in condition.arches)
    if condition.caps:
        found = [c in held for c in condition.caps]
        tests.append(all(found) if every else any(found))
    if condition.min_kernel is not None:
        tests.append(host.kernel >= condition.min_kernel)
    return all(tests) if every else any(tests)


def load_profile(path: str) -> Profile:
    """Read a Docker-format profile; one UsageError naming the file for anything wrong."""
    import json  # a user's profile only: `run` with the default one needs no json (and re)

    try:
        with open(path, "rb") as f:
            text = f.read()
    except OSError as error:
        raise UsageError(
            f"cannot read seccomp profile {path}: {error.strerror}",
            hint="give --security-opt seccomp=unconfined or a readable JSON profile",
        ) from None
    try:
        return parse_profile(json.loads(text))
    except json.JSONDecodeError as error:
        raise UsageError(f"invalid seccomp profile {path}: {error}") from None
    except UsageError as error:
        raise UsageError(f"invalid seccomp profile {path}: {error.message}") from None


def _known(architecture: object) -> bool:
    return isinstance(architecture, str) and architecture in ARCHITECTURES


def parse_profile(data: object) -> Profile:
    if not isinstance(data, dict):
        raise UsageError("expected a JSON object")
    if data.get("architectures") and data.get("archMap"):
        raise UsageError("give either 'architectures' or 'archMap', not both")
    architectures = data.get("architectures") or []
    if not isinstance(architectures, list) or not all(_known(a) for a in architectures):
        raise UsageError(f"unknown architecture in {architectures!r}")
    arch_map = []
    entries = data.get("archMap") or []
    if not isinstance(entries, list):
        raise UsageError("'archMap' must be a list")
    for entry in entries:
        if not isinstance(entry, dict) or not _known(entry.get("architecture")):
            raise UsageError(f"invalid archMap entry {entry!r}")
        subs = entry.get("subArchitectures") or []
        if not isinstance(subs, list) or not all(_known(s) for s in subs):
            raise UsageError(f"invalid subArchitectures {subs!r}")
        arch_map.append((str(entry["architecture"]), tuple(subs)))
    errno_ret = data.get("defaultErrnoRet")
    if errno_ret is not None and (not isinstance(errno_ret, int) or not 0 <= errno_ret < 4096):
        raise UsageError("'defaultErrnoRet' must be a number from 0 to 4095")
    rules = data.get("syscalls", [])
    rules = [] if rules is None else rules
    if not isinstance(rules, list):
        raise UsageError("'syscalls' must be a list")
    return Profile(
        default_action=action_name(data.get("defaultAction"), "defaultAction"),
        default_errno_ret=errno_ret,
        architectures=tuple(architectures),
        arch_map=tuple(arch_map),
        rules=tuple(_rule(r, f"syscalls[{i}]") for i, r in enumerate(rules)),
    )


def _rule(data: object, where: str) -> ProfileRule:
    if not isinstance(data, dict):
        raise UsageError(f"{where}: expected a JSON object")
    body: dict[str, Any] = dict(data)
    if body.get("name"):
        if body.get("names"):
            raise UsageError(f"{where}: give either 'name' or 'names', not both")
        body["names"] = [body["name"]]
    return ProfileRule(
        syscall=syscall_from_json(body, where),
        includes=_condition(body.get("includes"), f"{where}.includes"),
        excludes=_condition(body.get("excludes"), f"{where}.excludes"),
    )


def _condition(data: object, where: str) -> Condition:
    if data is None:
        return Condition()
    if not isinstance(data, dict):
        raise UsageError(f"{where}: expected a JSON object")
    caps = data.get("caps") or []
    arches = data.get("arches") or []
    for values in (caps, arches):
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise UsageError(f"{where}: 'caps' and 'arches' must be lists of names")
    minimum = data.get("minKernel")
    kernel = None
    if minimum is not None:
        kernel = kernel_version(str(minimum))
        if not kernel:
            raise UsageError(f"{where}: invalid minKernel {minimum!r}")
    return Condition(tuple(caps), tuple(arches), kernel)


_ANY = Condition()


def allow(
    names: str, *args: SeccompArg, includes: Condition = _ANY, excludes: Condition = _ANY
) -> ProfileRule:
    """One allow rule of a built-in profile: whitespace-separated names, optional args."""
    return ProfileRule(
        SeccompSyscall(tuple(names.split()), "SCMP_ACT_ALLOW", None, tuple(args)),
        includes,
        excludes,
    )
