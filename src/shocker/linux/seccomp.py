"""Loading a compiled seccomp program (classic BPF) into the calling thread, and the
libseccomp version, through ctypes: no compiler needed when the program is already built."""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

from shocker.linux.syscalls import prctl

# <linux/prctl.h>, <linux/seccomp.h>
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
BPF_INSTRUCTION_BYTES = 8  # struct sock_filter: u16 code, u8 jt, u8 jf, u32 k
LIBSECCOMP = "libseccomp.so.2"


class _Program(ctypes.Structure):
    # struct sock_fprog
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


class _Version(ctypes.Structure):
    _fields_ = (("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint))


def load_filter(program: bytes) -> None:
    """PR_SET_SECCOMP with `program`; the caller needs no_new_privs or CAP_SYS_ADMIN.

    Raises OSError (EINVAL for a malformed program, EACCES without either privilege)."""
    count, rest = divmod(len(program), BPF_INSTRUCTION_BYTES)
    if rest or not 0 < count <= 4096:
        raise OSError(22, f"malformed seccomp program ({len(program)} bytes)")
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _Program(count, ctypes.cast(buffer, ctypes.c_void_p))
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog))


def libseccomp_version() -> str:
    """The system libseccomp's version ("2.5.4"); "" when it is not installed.

    Read from the name its soname link points to (libseccomp.so.2 -> libseccomp.so.2.5.4)
    where the library sits in the multiarch directory: no dlopen on every container start.
    Elsewhere, asked of the library itself."""
    import sys

    multiarch = getattr(sys.implementation, "_multiarch", "")
    for directory in (f"/usr/lib/{multiarch}", f"/lib/{multiarch}", "/usr/lib64", "/usr/lib"):
        try:
            target = str(Path(f"{directory}/{LIBSECCOMP}").readlink())
        except OSError:
            continue
        version = target.rpartition("/")[2].removeprefix("libseccomp.so.")
        if version and all(part.isdigit() for part in version.split(".")):
            return version
    try:
        library = ctypes.CDLL(LIBSECCOMP)
    except OSError:
        return ""
    library.seccomp_version.restype = ctypes.POINTER(_Version)
    version = library.seccomp_version().contents
    return f"{version.major}.{version.minor}.{version.micro}"


def seccomp_mode(pid: int | str = "self") -> int | None:
    """The `Seccomp:` line of /proc/PID/status (0 none, 1 strict, 2 filter)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Seccomp:"):
                return int(line.split()[1])
    return None


def kernel_identity() -> str:
    uname = os.uname()
    return f"{uname.sysname} {uname.release} {uname.version} {uname.machine}"
