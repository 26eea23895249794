"""Escape attempts run from inside default containers (root, Docker's default
capabilities): the container fixtures of tests/integration/containers, shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shocker.linux.sealedexec import static_elf
from tests.integration.containers.conftest import containers, run_detached

__all__ = ["containers", "run_detached"]


# A static program for x86-64: `syscall NR [ARG...]` makes system call NR with up to six
# arguments and exits with its errno (0 on success). An argument is a signed decimal, or
# `x` and hex digits for a pointer to those bytes (a struct). Assembled from:
#   parse argv[1..7] into a zeroed array (rax, rdi, rsi, rdx, r10, r8, r9): decimals by
#     multiply-and-add, `x` arguments decoded pair by pair into a 512-byte stack buffer
#   syscall; neg rax; cmp rax,4095; jbe leave; xor eax,eax   ; a positive result is success
#   leave: mov edi,eax; mov eax,231; syscall                 ; exit_group(errno)
_SYSCALL_PROBE = bytes.fromhex(
    "4c8b24244c8d6c24104881ec400200004c8d7c244031c04889042448894424084889442410488944"
    "24184889442420488944242848894424304531f6498d46014c39e07d7e4983fe077d784b8b74f500"
    "31d231ff803e787430803e2d7505ffc748ffc60fb60e85c9740f83e930486bd20a4801ca48ffc6eb"
    "ea85ff740348f7da4a8914f449ffc6ebb348ffc64c89fa0fb60685c074eae81c000000c1e00489c1"
    "0fb64601e80e00000009c841880749ffc74883c602ebd883e83083f809760383e827c3488b042448"
    "8b7c2408488b742410488b5424184c8b5424204c8b4424284c8b4c24300f0548f7d8483dff0f0000"
    "760231c089c7b8e70000000f05"
)


@pytest.fixture(scope="session")
def probes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding `syscall`, to bind read-only into containers."""
    if os.uname().machine != "x86_64":
        pytest.skip("the syscall probe is x86-64 code")
    directory = tmp_path_factory.mktemp("probes")
    probe = directory / "syscall"
    probe.write_bytes(static_elf(_SYSCALL_PROBE, "x86_64"))
    probe.chmod(0o755)
    return directory
