"""bpf(2) through ctypes: load an eBPF program and attach it to a cgroup, plus the few
instruction encodings a device-cgroup program needs (<linux/bpf.h>, <linux/bpf_common.h>).
"""

from __future__ import annotations

import ctypes
import os
import struct

from shocker.linux.syscalls import _fail, _libc, _syscall_number

_SYS_BPF = {"x86_64": 321, "aarch64": 280, "armv7l": 386, "armv6l": 386, "ppc64le": 361}
BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_QUERY = 16
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_MULTI = 2

# Registers and the opcodes used (BPF_LDX|BPF_MEM|BPF_W, BPF_ALU64|op|BPF_K, BPF_JMP|...).
R0, R1, R2, R3, R4, R5 = range(6)
_LDX_W = 0x61
_AND_K = 0x57
_RSH_K = 0x77
_MOV_K = 0xB7
_MOV_X = 0xBF
_JNE_K = 0x55
_JEQ_K = 0x15
_EXIT = 0x95


def insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    """One 8-byte instruction: opcode, dst/src registers, 16-bit offset, 32-bit immediate."""
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def load_word(dst: int, src: int, off: int) -> bytes:
    return insn(_LDX_W, dst, src, off)


def and_imm(dst: int, imm: int) -> bytes:
    return insn(_AND_K, dst, imm=imm)


def shift_right(dst: int, imm: int) -> bytes:
    return insn(_RSH_K, dst, imm=imm)


def move_imm(dst: int, imm: int) -> bytes:
    return insn(_MOV_K, dst, imm=imm)


def move(dst: int, src: int) -> bytes:
    return insn(_MOV_X, dst, src)


def jump_if_not(dst: int, imm: int, skip: int) -> bytes:
    """if dst != imm: skip `skip` instructions."""
    return insn(_JNE_K, dst, off=skip, imm=imm)


def jump_if(dst: int, imm: int, skip: int) -> bytes:
    """if dst == imm: skip `skip` instructions."""
    return insn(_JEQ_K, dst, off=skip, imm=imm)


def exit_() -> bytes:
    return insn(_EXIT)


def _bpf(command: int, attr: ctypes.Array[ctypes.c_char]) -> int:
    number = _syscall_number(_SYS_BPF)
    result: int = _libc.syscall(ctypes.c_long(number), command, attr, len(attr))
    if result < 0:
        raise _fail()
    return result


def load_program(program_type: int, instructions: bytes, attach_type: int = 0) -> int:
    """BPF_PROG_LOAD; the program's fd (close-on-exec). Raises OSError with the verifier's
    last words when it refuses the program (asked for only then: logging costs time)."""
    try:
        return _load(program_type, instructions, attach_type, None)
    except OSError:
        log = ctypes.create_string_buffer(1 << 20)
        try:
            return _load(program_type, instructions, attach_type, log)
        except OSError as error:
            reason = log.value.decode(errors="replace").strip().splitlines()
            detail = f": {reason[-1]}" if reason else ""
            raise OSError(error.errno, f"{error.strerror}{detail}") from None


def _load(
    program_type: int,
    instructions: bytes,
    attach_type: int,
    log: ctypes.Array[ctypes.c_char] | None,
) -> int:
    code = ctypes.create_string_buffer(instructions, len(instructions))
    license_ = ctypes.create_string_buffer(b"GPL")
    attr = ctypes.create_string_buffer(128)
    # prog_type, insn_cnt, insns, license, log_level, log_size, log_buf, kern_version,
    # prog_flags, prog_name[16], prog_ifindex, expected_attach_type
    struct.pack_into(
        "<IIQQIIQII16sII",
        attr,
        0,
        program_type,
        len(instructions) // 8,
        ctypes.addressof(code),
        ctypes.addressof(license_),
        0 if log is None else 1,
        0 if log is None else len(log),
        0 if log is None else ctypes.addressof(log),
        0,
        0,
        b"shocker_devices",  # [A-Za-z0-9_.] only
        0,
        attach_type,
    )
    return _bpf(BPF_PROG_LOAD, attr)


def attach_program(cgroup_fd: int, program_fd: int, attach_type: int, flags: int = 0) -> None:
    attr = ctypes.create_string_buffer(128)
    struct.pack_into("<IIII", attr, 0, cgroup_fd, program_fd, attach_type, flags)
    _bpf(BPF_PROG_ATTACH, attr)


def attach_to_cgroup(directory: str, program_type: int, attach_type: int, code: bytes) -> None:
    """Load `code` and attach it to the cgroup2 directory (BPF_F_ALLOW_MULTI: programs that
    a container attaches below its own run as well, never instead)."""
    program = load_program(program_type, code, attach_type)
    try:
        cgroup = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            attach_program(cgroup, program, attach_type, BPF_F_ALLOW_MULTI)
        finally:
            os.close(cgroup)
    finally:
        os.close(program)
