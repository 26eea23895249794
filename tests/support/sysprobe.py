"""A static x86_64 executable, written byte by byte, that makes one system call and exits
with its errno (0 on success): lets a test try syscalls busybox has no applet for."""

from __future__ import annotations

import os
import struct
from pathlib import Path

_BASE = 0x400000
_HEADERS = 64 + 56  # ELF header + one program header


def supported() -> bool:
    return os.uname().machine == "x86_64"


def probe(number: int, *args: int) -> bytes:
    """The executable for syscall `number` with up to six (unsigned 64-bit) arguments."""
    values = [*args, 0, 0, 0, 0, 0, 0][:6]
    # movabs rdi, rsi, rdx, r10, r8, r9 (REX.W + B8+r imm64)
    registers = (b"\x48\xbf", b"\x48\xbe", b"\x48\xba", b"\x49\xba", b"\x49\xb8", b"\x49\xb9")
    code = b"\x48\xc7\xc0" + struct.pack("<i", number)  # mov rax, number
    for opcode, value in zip(registers, values, strict=True):
        code += opcode + struct.pack("<Q", value & 0xFFFFFFFFFFFFFFFF)
    code += b"\x0f\x05"  # syscall
    code += b"\x31\xff"  # xor edi, edi
    code += b"\x48\x85\xc0"  # test rax, rax
    code += b"\x79\x06"  # jns +6
    code += b"\x48\x89\xc7"  # mov rdi, rax
    code += b"\x48\xf7\xdf"  # neg rdi
    code += b"\xb8\xe7\x00\x00\x00"  # mov eax, 231 (exit_group)
    code += b"\x0f\x05"  # syscall
    size = _HEADERS + len(code)
    header = b"\x7fELF\x02\x01\x01" + b"\x00" * 9
    header += struct.pack(
        "<HHIQQQIHHHHHH", 2, 0x3E, 1, _BASE + _HEADERS, 64, 0, 0, 64, 56, 1, 0, 0, 0
    )
    program = struct.pack("<IIQQQQQQ", 1, 5, 0, _BASE, _BASE, size, size, 0x1000)
    return header + program + code


def write_probe(path: Path, number: int, *args: int) -> Path:
    path.write_bytes(probe(number, *args))
    path.chmod(0o755)
    return path


# x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl)
KEYCTL = 250
CLONE3 = 435
UNSHARE = 272
