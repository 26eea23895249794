"""Compiled seccomp programs: built by libseccomp, cached by their whole key, reused."""

from __future__ import annotations

from pathlib import Path

import pytest

from shocker.linux.seccomp import BPF_INSTRUCTION_BYTES, libseccomp_version
from shocker.oci.seccomp import Seccomp, SeccompSyscall
from shocker.runtime import seccomp

pytestmark = pytest.mark.skipif(not libseccomp_version(), reason="libseccomp2 is not installed")

PROFILE = Seccomp(
    default_action="SCMP_ACT_ERRNO",
    default_errno_ret=1,
    syscalls=(SeccompSyscall(("read", "write", "exit_group", "no_such_call"), "SCMP_ACT_ALLOW"),),
)


def test_libseccomp_version_is_dotted_numbers() -> None:
    parts = libseccomp_version().split(".")
    assert len(parts) == 3 and all(p.isdigit() for p in parts)


def test_a_program_is_compiled_once_then_read_back(tmp_path: Path) -> None:
    first = seccomp.program(PROFILE, tmp_path)
    assert first and len(first) % BPF_INSTRUCTION_BYTES == 0
    (cached,) = tmp_path.iterdir()
    assert seccomp.cache_key(PROFILE) in cached.read_bytes()
    cached.write_bytes(cached.read_bytes()[:-8] + b"\xff" * 8)  # what a reader gets back
    assert seccomp.program(PROFILE, tmp_path) == first[:-8] + b"\xff" * 8


def test_another_profile_or_a_damaged_file_is_compiled_again(tmp_path: Path) -> None:
    first = seccomp.program(PROFILE, tmp_path)
    other = Seccomp(default_action="SCMP_ACT_ALLOW", syscalls=PROFILE.syscalls[:0])
    assert seccomp.program(other, tmp_path) != first
    for path in tmp_path.iterdir():
        path.write_bytes(b"garbage")
    assert seccomp.program(PROFILE, tmp_path) == first
    assert seccomp.program(PROFILE, None) == first
