"""ctypes bindings for the system calls the runtime needs and the stdlib lacks (Python 3.11).

Every wrapper raises OSError(errno, strerror, path) on failure, as the os module does.
"""

from __future__ import annotations

import ctypes
import os

# <linux/sched.h>
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# <linux/mount.h>
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_UNBINDABLE = 1 << 17
MS_STRICTATIME = 1 << 24
MNT_DETACH = 2

# <linux/prctl.h>
PR_SET_KEEPCAPS = 8
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4

# pivot_root has no glibc wrapper; syscall numbers from the kernel's syscall tables.
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "armv7l": 218, "armv6l": 218, "ppc64le": 203}
_SYS_CAPGET = {"x86_64": 125, "aarch64": 90, "armv7l": 184, "armv6l": 184, "ppc64le": 183}
_SYS_CAPSET = {"x86_64": 126, "aarch64": 91, "armv7l": 185, "armv6l": 185, "ppc64le": 184}

# capget(2): version 3 takes two 32-bit data structs (64 capability bits).
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

# The one handle on libc: every module that calls it goes through this one (LIBC).
_libc = LIBC = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
# prctl is variadic, but the kernel reads five arguments and checks unused ones are 0.
_libc.prctl.argtypes = [
    ctypes.c_int,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
]
_libc.syscall.restype = ctypes.c_long


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


def _fail(path: str | None = None) -> OSError:
    err = ctypes.get_errno()
    return OSError(err, os.strerror(err), path)


def _bytes(value: str | None) -> bytes | None:
    return None if value is None else os.fsencode(value)


def _syscall_number(table: dict[str, int]) -> int:
    machine = os.uname().machine
    try:
        return table[machine]
    except KeyError:
        raise OSError(38, f"no syscall number known for {machine}") from None


def mount(
    source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None
) -> None:
    """mount(2)."""
    if _libc.mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data)) != 0:
        raise _fail(target)


def umount2(target: str, flags: int = 0) -> None:
    """umount2(2)."""
    if _libc.umount2(_bytes(target), flags) != 0:
        raise _fail(target)


def pivot_root(new_root: str, put_old: str) -> None:
    """pivot_root(2), called through syscall(2): glibc does not wrap it."""
    number = _syscall_number(_SYS_PIVOT_ROOT)
    if _libc.syscall(ctypes.c_long(number), _bytes(new_root), _bytes(put_old)) != 0:
        raise _fail(new_root)


def unshare(flags: int) -> None:
    """unshare(2)."""
    if _libc.unshare(flags) != 0:
        raise _fail()


def setns(fd: int, nstype: int) -> None:
    """setns(2): join the namespace `fd` refers to (for CLONE_NEWPID: for later children)."""
    if _libc.setns(fd, nstype) != 0:
        raise _fail()


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0) -> int:
    """prctl(2); returns the call's non-negative result."""
    result: int = _libc.prctl(option, arg2, arg3, arg4, 0)
    if result < 0:
        raise _fail()
    return result


def set_no_new_privs() -> None:
    """PR_SET_NO_NEW_PRIVS: execve can never grant privileges again (setuid bits, file caps)."""
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def set_keep_capabilities(keep: bool) -> None:
    """PR_SET_KEEPCAPS: keep the permitted set across setuid from root to another user."""
    prctl(PR_SET_KEEPCAPS, 1 if keep else 0)


def drop_bounding_capability(cap: int) -> None:
    """PR_CAPBSET_DROP (needs CAP_SETPCAP in the effective set)."""
    prctl(PR_CAPBSET_DROP, cap)


def clear_ambient_capabilities() -> None:
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)


def raise_ambient_capability(cap: int) -> None:
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap)


def capget() -> tuple[int, int, int]:
    """The calling thread's (effective, permitted, inheritable) sets as 64-bit masks."""
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    number = _syscall_number(_SYS_CAPGET)
    if _libc.syscall(ctypes.c_long(number), ctypes.byref(header), data) != 0:
        raise _fail()
    return (
        data[0].effective | data[1].effective << 32,
        data[0].permitted | data[1].permitted << 32,
        data[0].inheritable | data[1].inheritable << 32,
    )


def capset(effective: int, permitted: int, inheritable: int) -> None:
    """capset(2) for the calling thread; sets are 64-bit masks."""
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    low, high = 0xFFFFFFFF, 32
    data[0] = _CapData(effective & low, permitted & low, inheritable & low)
    data[1] = _CapData(effective >> high, permitted >> high, inheritable >> high)
    number = _syscall_number(_SYS_CAPSET)
    if _libc.syscall(ctypes.c_long(number), ctypes.byref(header), data) != 0:
        raise _fail()


# <linux/sockios.h>, <net/if.h>
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1


def set_link_up(name: str) -> None:
    """Bring a network interface up (netdevice(7) SIOCSIFFLAGS), e.g. `lo` in a new netns."""
    # The C module: `socket` costs ~2 ms of imports on the container's start path.
    import _socket
    import fcntl
    import struct

    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    try:
        request = struct.pack("16sH22x", name.encode(), 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock.fileno(), _SIOCGIFFLAGS, request))[1]
        update = struct.pack("16sH22x", name.encode(), flags | _IFF_UP)
        fcntl.ioctl(sock.fileno(), _SIOCSIFFLAGS, update)
    finally:
        sock.close()


# <linux/nsfs.h>: _IO(0xb7, 0x1)
_NS_GET_USERNS = 0xB701


def namespace_owner(fd: int) -> tuple[int, int]:
    """(st_dev, st_ino) of the user namespace that owns the namespace `fd` refers to."""
    import fcntl

    owner = fcntl.ioctl(fd, _NS_GET_USERNS)
    try:
        info = os.fstat(owner)
        return info.st_dev, info.st_ino
    finally:
        os.close(owner)
