"""The runtime spec's `linux.seccomp` (OCI runtime-spec config-linux.md, "Seccomp") as typed
records, read from and written to its JSON form, with the names checked.
"""

from __future__ import annotations

from shocker.errors import UsageError
from shocker.record import record
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

ACTIONS = frozenset(
    {
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_TRAP",
        "SCMP_ACT_ERRNO",
        "SCMP_ACT_TRACE",
        "SCMP_ACT_ALLOW",
        "SCMP_ACT_LOG",
    }
)
OPERATORS = frozenset(
    {
        "SCMP_CMP_NE",
        "SCMP_CMP_LT",
        "SCMP_CMP_LE",
        "SCMP_CMP_EQ",
        "SCMP_CMP_GE",
        "SCMP_CMP_GT",
        "SCMP_CMP_MASKED_EQ",
    }
)
ARCHITECTURES = frozenset(
    {
        "SCMP_ARCH_X86",
        "SCMP_ARCH_X86_64",
        "SCMP_ARCH_X32",
        "SCMP_ARCH_ARM",
        "SCMP_ARCH_AARCH64",
        "SCMP_ARCH_MIPS",
        "SCMP_ARCH_MIPS64",
        "SCMP_ARCH_MIPS64N32",
        "SCMP_ARCH_MIPSEL",
        "SCMP_ARCH_MIPSEL64",
        "SCMP_ARCH_MIPSEL64N32",
        "SCMP_ARCH_PPC",
        "SCMP_ARCH_PPC64",
        "SCMP_ARCH_PPC64LE",
        "SCMP_ARCH_S390",
        "SCMP_ARCH_S390X",
        "SCMP_ARCH_RISCV64",
        "SCMP_ARCH_LOONGARCH64",
    }
)
EPERM = 1


@record(frozen=True)
class SeccompArg:
    index: int
    value: int
    op: str
    value_two: int = 0


@record(frozen=True)
class SeccompSyscall:
    names: tuple[str, ...]
    action: str
    errno_ret: int | None = None
    args: tuple[SeccompArg, ...] = ()


@record(frozen=True)
class Seccomp:
    default_action: str
    default_errno_ret: int | None = None
    architectures: tuple[str, ...] = ()
    syscalls: tuple[SeccompSyscall, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The config.json form (camelCase keys, absent fields left out)."""
        result: dict[str, Any] = {"defaultAction": self.default_action}
        if self.default_errno_ret is not None:
            result["defaultErrnoRet"] = self.default_errno_ret
        if self.architectures:
            result["architectures"] = list(self.architectures)
        result["syscalls"] = [_syscall_json(s) for s in self.syscalls]
        return result

    @classmethod
    def from_json(cls, data: object, where: str = "linux.seccomp") -> Seccomp:
        """Parse and check the config.json form; UsageError names what is wrong."""
        body = _mapping(data, where)
        syscalls = body.get("syscalls", [])
        syscalls = [] if syscalls is None else syscalls
        if not isinstance(syscalls, list):
            raise UsageError(f"{where}: 'syscalls' must be a list")
        architectures = body.get("architectures") or []
        if not isinstance(architectures, list) or not all(
            a in ARCHITECTURES for a in architectures
        ):
            raise UsageError(f"{where}: unknown architecture in {architectures!r}")
        return cls(
            default_action=action_name(body.get("defaultAction"), f"{where}.defaultAction"),
            default_errno_ret=_optional_int(body.get("defaultErrnoRet"), where),
            architectures=tuple(architectures),
            syscalls=tuple(
                syscall_from_json(s, f"{where}.syscalls[{i}]") for i, s in enumerate(syscalls)
            ),
        )


def syscall_from_json(data: object, where: str) -> SeccompSyscall:
    body = _mapping(data, where)
    names = body.get("names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise UsageError(f"{where}: 'names' must be a non-empty list of syscall names")
    args = body.get("args") or []
    if not isinstance(args, list):
        raise UsageError(f"{where}: 'args' must be a list")
    return SeccompSyscall(
        names=tuple(names),
        action=action_name(body.get("action"), f"{where}.action"),
        errno_ret=_optional_int(body.get("errnoRet"), where),
        args=tuple(_arg_from_json(a, f"{where}.args[{i}]") for i, a in enumerate(args)),
    )


def action_name(value: object, where: str) -> str:
    if not isinstance(value, str) or value not in ACTIONS:
        raise UsageError(f"{where}: unknown seccomp action {value!r}")
    return str(value)


def _arg_from_json(data: object, where: str) -> SeccompArg:
    body = _mapping(data, where)
    index, value, two = body.get("index"), body.get("value", 0), body.get("valueTwo", 0)
    if not isinstance(index, int) or not 0 <= index <= 5:
        raise UsageError(f"{where}: 'index' must be 0 to 5")
    for number in (value, two):
        if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number < 2**64:
            raise UsageError(f"{where}: values must be unsigned 64-bit integers")
    op = body.get("op")
    if not isinstance(op, str) or op not in OPERATORS:
        raise UsageError(f"{where}: unknown comparison {op!r}")
    return SeccompArg(index, value, str(op), two)


def _syscall_json(syscall: SeccompSyscall) -> dict[str, Any]:
    result: dict[str, Any] = {"names": list(syscall.names), "action": syscall.action}
    if syscall.errno_ret is not None:
        result["errnoRet"] = syscall.errno_ret
    if syscall.args:
        result["args"] = [
            {"index": a.index, "value": a.value, "valueTwo": a.value_two, "op": a.op}
            for a in syscall.args
        ]
    return result


def _mapping(data: object, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise UsageError(f"{where}: expected a JSON object")
    return data


def _optional_int(value: object, where: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 4096:
        raise UsageError(f"{where}: an errno must be a number from 0 to 4095")
    return value
