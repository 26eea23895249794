"""execve through a sealed in-memory trampoline, so no process a container can see ever has a
host binary as its /proc/PID/exe (the CVE-2019-5736 class).

The runtime is a Python interpreter: a container process that opens /proc/PID/exe of an
entering process, or runs a script whose interpreter line is `#!/proc/self/exe` (the kernel
resolves it to the exe of the process calling execve), reaches the host's interpreter and
can rewrite it once nothing runs it. runc and crun re-exec themselves from a sealed memfd;
re-executing Python costs a whole interpreter start, so instead the last execve goes through
a 106-byte static program copied into a sealed memfd. It execs the container's command;
`/proc/self/exe` seen from the container is then that immutable copy, never a host file.

The caller becomes undumpable in prepare(), so while it still runs Python its /proc/PID
entries stay closed to the container's root; the execve into the trampoline makes it
dumpable again, with exe = "/memfd:shocker-exec (deleted)".
"""

from __future__ import annotations

import fcntl
import os

from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import NoReturn

# The trampoline (x86-64), assembled from:
#   _start:  mov rcx,[rsp]; cmp rcx,5; jb refuse          ; argc >= 5 or refuse (ends the
#            mov rdi,[rsp+16]                              ;   `#!/proc/self/exe` loop: each
#            lea rsi,[rsp+40]; lea rdx,[rsp+rcx*8+16]      ;   round has fewer arguments)
#            mov eax,59; syscall                           ; execve(argv[1], &argv[4], envp)
#            mov r12d,127; mov rsi,[rsp+24]                ; ENOENT/ENOTDIR: 127, argv[2]
#            cmp eax,-2; je report; cmp eax,-20; je report
#            mov r12d,126; mov rsi,[rsp+32]                ; anything else: 126, argv[3]
#   report:  xor edx,edx; measure: cmp byte[rsi+rdx],0; je write; inc rdx; jmp measure
#   write:   mov edi,2; mov eax,1; syscall                 ; write(2, message, length)
#            mov edi,r12d; jmp leave
#   refuse:  mov edi,126
#   leave:   mov eax,231; syscall                          ; exit_group(code)
_CODE = {
    "x86_64": bytes.fromhex(
        "488b0c244883f9057254488b7c2410488d742428488d54cc10b83b0000000f0541bc7f000000"
        "488b74241883f8fe741083f8ec740b41bc7e000000488b74242031d2803c1600740548ffc2eb"
        "f5bf02000000b8010000000f054489e7eb05bf7e000000b8e70000000f05"
    ),
}
_MACHINE = {"x86_64": 0x3E}
_BASE = 0x400000
_HEADERS = 64 + 56  # one ELF64 header, one program header

MFD_CLOEXEC = 0x0001
MFD_ALLOW_SEALING = 0x0002
MFD_EXEC = 0x0010  # Linux 6.3+: executable even where vm.memfd_noexec would refuse it
_SEALS = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE

PR_SET_DUMPABLE = 4


def supported(machine: str | None = None) -> bool:
    return (machine or os.uname().machine) in _CODE


def trampoline_image(machine: str) -> bytes:
    return static_elf(_CODE[machine], machine)


def static_elf(code: bytes, machine: str) -> bytes:
    """A static ELF executable of position-independent `code`: headers and code in one
    read+execute segment, entered at the code's first byte."""
    size = _HEADERS + len(code)
    header = b"".join(
        (
            b"\x7fELF\x02\x01\x01" + bytes(9),  # 64-bit, little-endian, version 1, SysV
            (2).to_bytes(2, "little"),  # ET_EXEC
            _MACHINE[machine].to_bytes(2, "little"),
            (1).to_bytes(4, "little"),
            (_BASE + _HEADERS).to_bytes(8, "little"),  # entry
            (64).to_bytes(8, "little"),  # program headers follow
            bytes(8),  # no section headers
            bytes(4),
            (64).to_bytes(2, "little"),
            (56).to_bytes(2, "little"),
            (1).to_bytes(2, "little"),
            bytes(6),
        )
    )
    program = b"".join(
        (
            (1).to_bytes(4, "little"),  # PT_LOAD
            (5).to_bytes(4, "little"),  # PF_R | PF_X
            bytes(8),  # from file offset 0
            _BASE.to_bytes(8, "little"),
            _BASE.to_bytes(8, "little"),
            size.to_bytes(8, "little"),
            size.to_bytes(8, "little"),
            (0x1000).to_bytes(8, "little"),
        )
    )
    return header + program + code


def sealed_trampoline(machine: str | None = None) -> int:
    """A close-on-exec memfd holding the trampoline, sealed against every change."""
    image = trampoline_image(machine or os.uname().machine)
    try:
        fd = os.memfd_create("shocker-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC)
    except OSError:  # EINVAL before Linux 6.3, which does not know MFD_EXEC
        fd = os.memfd_create("shocker-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING)
    try:
        os.write(fd, image)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)
    except BaseException:
        os.close(fd)
        raise
    return fd


def prepare() -> int:
    """Make the caller undumpable and return the sealed trampoline's descriptor (-1 where no
    trampoline exists for this machine). Call it early, before seccomp: after the filter
    only execve runs."""
    from shocker.linux import syscalls

    # PR_SET_DUMPABLE 0: /proc/PID/{exe,fd,mem,root,...} of this process need
    # CAP_SYS_PTRACE from now until the execve, which makes it dumpable again.
    syscalls.prctl(PR_SET_DUMPABLE, 0)
    return sealed_trampoline() if supported() else -1


def execve(
    trampoline: int, path: str, argv: list[str], env: dict[str, str], *, missing: str, failed: str
) -> NoReturn:
    """execve(path, argv, env) by way of the trampoline from prepare().

    `missing` (exit 127, for ENOENT/ENOTDIR) or `failed` (exit 126, anything else) is
    written to stderr if the trampoline's own execve fails; the caller checks the common
    failures itself first, while it can still report them properly. Raises OSError if the
    trampoline cannot start (then nothing has been executed)."""
    if trampoline < 0:
        # No trampoline for this machine: the undumpable caller keeps its /proc entries
        # closed until execve, but `#!/proc/self/exe` would reach the host's interpreter.
        os.execve(path, argv, env)
    os.execve(trampoline, ["shocker-exec", path, f"{missing}\n", f"{failed}\n", *argv], env)


def sealed_copy(path: str, name: str) -> int:
    """A close-on-exec memfd holding a copy of the host program at `path`, sealed against
    every change: executed from it (fexecve), the program's /proc/PID/exe is the immutable
    copy, never the host's file. Raises OSError when the program cannot be read."""
    with open(path, "rb") as program:
        image = program.read()
    try:
        fd = os.memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC)
    except OSError:  # EINVAL before Linux 6.3, which does not know MFD_EXEC
        fd = os.memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)
    try:
        view = memoryview(image)
        while view:
            view = view[os.write(fd, view) :]
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)
    except BaseException:
        os.close(fd)
        raise
    return fd
