"""A spec's `linux.seccomp` as a loadable BPF program: compiled with libseccomp (pyseccomp,
imported only on a cache miss) and cached on disk, as crun does, keyed by the profile, the
libseccomp version and the kernel; a cached program loads in about a millisecond where
compiling takes ten.

A syscall name that this libseccomp or architecture does not know is skipped, as Docker
does, so one profile serves old and new kernels.
"""

from __future__ import annotations

import os
from pathlib import Path

from shocker import leanjson
from shocker.errors import RuntimeFailure
from shocker.linux.seccomp import kernel_identity, libseccomp_version
from shocker.oci.seccomp import EPERM, Seccomp, SeccompSyscall
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

_MAGIC = b"shocker-seccomp-bpf 1\n"


def program(seccomp: Seccomp, cache: Path | None) -> bytes:
    """The BPF program for `seccomp`, from `cache` when it holds this exact key."""
    key = cache_key(seccomp)
    path = None
    if cache is not None:
        path = cache / f"{_digest(key)}.bpf"
        cached = _read(path, key)
        if cached is not None:
            return cached
    compiled = compile_filter(seccomp)
    if path is not None:
        _store(path, key, compiled)
    return compiled


def cache_key(seccomp: Seccomp) -> bytes:
    """Everything the compiled program depends on. The whole key is stored beside the
    program and compared on load: the short file name only finds it."""
    # to_json's key order is fixed, so the text is the same for the same profile.
    profile = leanjson.dumps(seccomp.to_json(), separators=(",", ":"))
    return f"{libseccomp_version()}\n{kernel_identity()}\n{profile}".encode()


def _digest(key: bytes) -> str:
    """A short name for the key. Only a lookup aid (the whole key is compared on load), so
    cheap sums do, instead of importing a hash module on every start; two profiles that
    share a name only cost each other a compile."""
    return f"{len(key):06x}{sum(key) & 0xFFFFFF:06x}{sum(key[::3]) & 0xFFFFFF:06x}"


def _read(path: Path, key: bytes) -> bytes | None:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    header = _MAGIC + len(key).to_bytes(4, "big") + key
    if not data.startswith(header) or len(data) == len(header):
        return None
    return data[len(header) :]


def _store(path: Path, key: bytes, compiled: bytes) -> None:
    """Write-then-rename; a cache that cannot be written only costs the next start a compile."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "wb") as f:
            f.write(_MAGIC + len(key).to_bytes(4, "big") + key + compiled)
        temporary.replace(path)
    except OSError:
        temporary.unlink(missing_ok=True)


def compile_filter(seccomp: Seccomp) -> bytes:
    """libseccomp's BPF for the profile. Raises RuntimeFailure naming what it refused."""
    if not libseccomp_version():
        raise RuntimeFailure(
            "seccomp: libseccomp2 is not installed", hint="apt-get install libseccomp2"
        )
    import tempfile

    import pyseccomp

    default = _action(pyseccomp, seccomp.default_action, seccomp.default_errno_ret)
    scmp = pyseccomp.SyscallFilter(default)
    native = pyseccomp.system_arch()
    for name in seccomp.architectures:
        arch = getattr(pyseccomp.Arch, name.removeprefix("SCMP_ARCH_"), None)
        if arch is None:
            continue  # an architecture this binding cannot name cannot run here either
        if arch != native and not scmp.exist_arch(arch):
            scmp.add_arch(arch)
    # A binary tree of syscall numbers instead of a linear chain: fewer instructions run
    # on every syscall of a large allowlist (libseccomp 2.5's SCMP_FLTATR_CTL_OPTIMIZE).
    scmp.set_attr(pyseccomp.Attr.CTL_OPTIMIZE, 2)
    for rule in seccomp.syscalls:
        action = _action(pyseccomp, rule.action, rule.errno_ret)
        if action == default:
            continue  # libseccomp refuses rules that repeat the default
        for name in rule.names:
            number = pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name)
            if number == -1:
                continue  # unknown to this libseccomp: skipped, as Docker does
            for conditions in _argument_sets(pyseccomp, rule):
                try:
                    scmp.add_rule(action, number, *conditions)
                except OSError as error:
                    raise RuntimeFailure(
                        f"seccomp: cannot add the rule for {name}: {error.strerror}"
                    ) from None
    with tempfile.TemporaryFile() as f:
        scmp.export_bpf(f)
        f.seek(0)
        return f.read()


def _argument_sets(pyseccomp: Any, rule: SeccompSyscall) -> list[list[Any]]:
    """libseccomp ANDs a rule's comparisons but allows one per argument: conditions that
    test the same argument twice become one rule each (runc's reading of the spec)."""
    conditions = [
        pyseccomp.Arg(
            a.index, getattr(pyseccomp, a.op.removeprefix("SCMP_CMP_")), a.value, a.value_two
        )
        for a in rule.args
    ]
    indexes = [a.index for a in rule.args]
    if len(set(indexes)) == len(indexes):
        return [conditions]
    return [[c] for c in conditions]


def _action(pyseccomp: Any, name: str, errno_ret: int | None) -> int:
    errno = EPERM if errno_ret is None else errno_ret
    actions: dict[str, int] = {
        "SCMP_ACT_ALLOW": pyseccomp.ALLOW,
        "SCMP_ACT_ERRNO": pyseccomp.ERRNO(errno),
        "SCMP_ACT_KILL": pyseccomp.KILL_THREAD,
        "SCMP_ACT_KILL_THREAD": pyseccomp.KILL_THREAD,
        "SCMP_ACT_KILL_PROCESS": pyseccomp.KILL_PROCESS,
        "SCMP_ACT_TRAP": pyseccomp.TRAP,
        "SCMP_ACT_TRACE": pyseccomp.TRACE(errno),
        "SCMP_ACT_LOG": pyseccomp.LOG,
    }
    return actions[name]
