"""User namespaces for containers: one made with a given id mapping, joined later, and an
idmapped mount of a directory, so that files keep their on-disk owners as seen from inside.

The namespace is made by a short-lived child (unshare(CLONE_NEWUSER), then its uid_map and
gid_map written by us, user_namespaces(7)) and kept as a descriptor of /proc/CHILD/ns/user:
the container's processes join it with setns(2) as their last step before dropping
privileges, after every mount is made by the host's root. The idmapped mount is the new
mount API (open_tree(2), mount_setattr(2) with MOUNT_ATTR_IDMAP, move_mount(2); Linux 5.12+,
btrfs since 5.15), which the stdlib lacks, so it goes through ctypes.
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Iterator, Sequence

from shocker.leancontext import contextmanager
from shocker.linux import syscalls

# (first id inside, first id on the host, count), one line of /proc/PID/uid_map each.
Mapping = tuple[int, int, int]

# The new mount API's numbers are the same on every architecture (the unified table).
_SYS_OPEN_TREE = 428
_SYS_MOVE_MOUNT = 429
_SYS_MOUNT_SETATTR = 442

# <linux/mount.h>, <fcntl.h>
OPEN_TREE_CLONE = 1
OPEN_TREE_CLOEXEC = 0o2000000
AT_FDCWD = -100
AT_EMPTY_PATH = 0x1000
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x00000001
MOUNT_ATTR_IDMAP = 0x00100000
MOVE_MOUNT_F_EMPTY_PATH = 0x00000004

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.setfsuid.argtypes = [ctypes.c_uint]
_libc.setfsgid.argtypes = [ctypes.c_uint]


class _MountAttr(ctypes.Structure):
    _fields_ = (
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    )


class Unsupported(OSError):
    """The kernel (or the filesystem) has no idmapped mounts."""


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), what)
    return result


def map_lines(mappings: Sequence[Mapping]) -> str:
    """The text of a uid_map or gid_map file: one "inside host count" line each."""
    return "".join(f"{inside} {host} {count}\n" for inside, host, count in mappings)


def user_namespace(uids: Sequence[Mapping], gids: Sequence[Mapping]) -> int:
    """A new user namespace with these mappings, as a close-on-exec descriptor.

    Call it from a process of the host's pid namespace (its child's pid is read in /proc)."""
    return _namespaces(uids, gids, network=False)[0]


def user_and_network_namespaces(
    uids: Sequence[Mapping], gids: Sequence[Mapping]
) -> tuple[int, int]:
    """A new user namespace with these mappings and a new network namespace it owns, as
    close-on-exec descriptors (user, net).

    The network namespace is made in the same unshare(2), so its owner is the new user
    namespace: container root then holds CAP_NET_RAW and CAP_NET_ADMIN over its own
    network (ping, as under the host's user namespace), while the host's root, privileged
    in the parent namespace, still moves a veth into it and configures it."""
    return _namespaces(uids, gids, network=True)


def _namespaces(
    uids: Sequence[Mapping], gids: Sequence[Mapping], *, network: bool
) -> tuple[int, int]:
    flags = syscalls.CLONE_NEWUSER | (syscalls.CLONE_NEWNET if network else 0)
    ready_read, ready_write = os.pipe()
    hold_read, hold_write = os.pipe()
    child = os.fork()
    if child == 0:
        code = 0
        try:
            os.close(ready_read)
            os.close(hold_write)
            syscalls.unshare(flags)
            os.write(ready_write, b"u")
            os.read(hold_read, 1)  # until our parent has opened the namespace
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(ready_write)
    os.close(hold_read)
    try:
        if os.read(ready_read, 1) != b"u":
            raise OSError(errno.EPERM, "cannot create a user namespace", "unshare")
        # Written by a process privileged in the parent namespace: any host range may be
        # mapped, and setgroups(2) stays allowed inside.
        for name, mappings in (("uid_map", uids), ("gid_map", gids)):
            path = f"/proc/{child}/{name}"
            with open(path, "w") as f:
                f.write(map_lines(mappings))
        user = os.open(f"/proc/{child}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
        if not network:
            return user, -1
        try:
            return user, os.open(f"/proc/{child}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            os.close(user)
            raise
    finally:
        os.close(ready_read)
        os.close(hold_write)
        os.waitpid(child, 0)


def join(userns_fd: int) -> None:
    """setns(2) into the user namespace: full capabilities there, none over the host's."""
    syscalls.setns(userns_fd, syscalls.CLONE_NEWUSER)


def idmapped_bind(path: str, userns_fd: int, target: str | None = None) -> None:
    """Mount an idmapped bind of `path` onto itself (or onto `target`): its files' owners
    are shifted by the namespace's mapping (disk uid 0 shows as the host id that container
    root has).

    Raises Unsupported where the kernel or filesystem cannot, OSError otherwise."""
    try:
        tree = _check(
            _libc.syscall(
                ctypes.c_long(_SYS_OPEN_TREE),
                ctypes.c_int(AT_FDCWD),
                os.fsencode(path),
                ctypes.c_uint(OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC),
            ),
            "open_tree",
        )
    except OSError as error:
        if error.errno == errno.ENOSYS:
            raise Unsupported(error.errno, "this kernel has no open_tree(2)", path) from None
        raise
    try:
        attr = _MountAttr(MOUNT_ATTR_IDMAP, 0, 0, userns_fd)
        try:
            _check(
                _libc.syscall(
                    ctypes.c_long(_SYS_MOUNT_SETATTR),
                    ctypes.c_int(tree),
                    b"",
                    ctypes.c_uint(AT_EMPTY_PATH),
                    ctypes.byref(attr),
                    ctypes.c_size_t(ctypes.sizeof(attr)),
                ),
                "mount_setattr",
            )
        except OSError as error:
            if error.errno in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise Unsupported(
                    error.errno, "idmapped mounts are not supported here", path
                ) from None
            raise
        _check(
            _libc.syscall(
                ctypes.c_long(_SYS_MOVE_MOUNT),
                ctypes.c_int(tree),
                b"",
                ctypes.c_int(AT_FDCWD),
                os.fsencode(path if target is None else target),
                ctypes.c_uint(MOVE_MOUNT_F_EMPTY_PATH),
            ),
            "move_mount",
        )
    finally:
        os.close(tree)


def readonly_tree(path: str) -> None:
    """Make the mount at `path` and every mount below it read-only (mount_setattr(2) with
    AT_RECURSIVE, Linux 5.12+): a remount can only change one mount."""
    attr = _MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0)
    _check(
        _libc.syscall(
            ctypes.c_long(_SYS_MOUNT_SETATTR),
            ctypes.c_int(AT_FDCWD),
            os.fsencode(path),
            ctypes.c_uint(AT_RECURSIVE),
            ctypes.byref(attr),
            ctypes.c_size_t(ctypes.sizeof(attr)),
        ),
        "mount_setattr",
    )


@contextmanager
def filesystem_ids(uid: int, gid: int) -> Iterator[None]:
    """Create files as host uid/gid (setfsuid(2)): the host's root has no id on an idmapped
    mount, so it must create there as the id container root has (EOVERFLOW otherwise).

    The kernel drops the file capabilities from the effective set when fsuid leaves 0 and
    raises them again when it returns; they are raised here too, so root may still create
    in any directory meanwhile."""
    _libc.setfsgid(gid)
    _libc.setfsuid(uid)
    try:
        _, permitted, inheritable = syscalls.capget()
        syscalls.capset(permitted, permitted, inheritable)
        yield
    finally:
        _libc.setfsuid(0)
        _libc.setfsgid(0)


def retry_as(owner: tuple[int, int] | None, error: OSError) -> bool:
    """Whether a creation that failed with `error` should be tried again as `owner`."""
    return owner is not None and error.errno == errno.EOVERFLOW
