"""Paths inside an untrusted root, resolved and created through descriptors.

A container's rootfs and its volumes are writable by containers: between a check of a path
and its use, a symlink can appear anywhere in it (runc CVE-2021-30465: a directory in a
shared volume flipped to a symlink to "/" sends a mount, or a mkdir, onto the host). So a
path is never resolved twice by name. open_in_root returns an O_PATH descriptor of what the
path names inside the root, following symlinks as if the root were "/" and never leaving
it; missing components are created relative to the descriptor of their parent; the caller
then acts on the descriptor (mount through fd_path, mknod/symlink with dir_fd).

With openat2(2) (Linux 5.6+) the kernel resolves in one call (RESOLVE_IN_ROOT, which also
refuses magic links such as /proc/self/root); otherwise, and to create what is missing, a
walk one component at a time with O_PATH|O_NOFOLLOW, symlinks expanded by us.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat

from shocker.linux.syscalls import LIBC
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Literal

    Create = Literal["dir", "file"] | None

from shocker.linux import idmap

# <linux/openat2.h>
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_IN_ROOT = 0x10
_SYS_OPENAT2 = 437  # the same number on every architecture (added in the unified table)

# Linux's own limit on symlinks followed in one lookup (path_resolution(7)).
MAX_SYMLINKS = 40

_libc = LIBC  # its syscall returns a long, as openat2 needs


class _OpenHow(ctypes.Structure):
    _fields_ = (
        ("flags", ctypes.c_uint64),
        ("mode", ctypes.c_uint64),
        ("resolve", ctypes.c_uint64),
    )


def openat2(dirfd: int, path: str, flags: int, resolve: int) -> int:
    """openat2(2); OSError(ENOSYS) on kernels before 5.6."""
    how = _OpenHow(flags, 0, resolve)
    fd = _libc.syscall(
        ctypes.c_long(_SYS_OPENAT2),
        ctypes.c_int(dirfd),
        os.fsencode(path),
        ctypes.byref(how),
        ctypes.c_size_t(ctypes.sizeof(how)),
    )
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), path)
    return int(fd)


def fd_path(fd: int) -> str:
    """The magic link through which mount(2) and friends act on exactly what `fd` is."""
    return f"/proc/self/fd/{fd}"


def open_root(path: str) -> int:
    return os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)


def open_in_root(
    root_fd: int,
    path: str,
    *,
    create: Create = None,
    kernel_resolve: bool = True,
    owner: tuple[int, int] | None = None,
) -> int:
    """An O_PATH descriptor of container path `path` under the root `root_fd`.

    create: "dir" makes missing components directories (0755); "file" does the same for
    all but the last, which becomes an empty regular file (0644). kernel_resolve=False
    always takes the walk (tests compare both). owner: the host (uid, gid) to create as
    where the host's root cannot (an idmapped root, linux/idmap.py). Raises OSError
    (ENOENT when missing and not created, ELOOP after MAX_SYMLINKS links, ENOTDIR for a
    file in the middle)."""
    if kernel_resolve:
        try:
            return _openat2_retrying(root_fd, path)
        except OSError as error:
            # ENOSYS: no openat2; EPERM/EACCES: a seccomp filter refusing it; ENOENT: the
            # walk creates what is missing. Every other error is the answer.
            missing = error.errno == errno.ENOENT and create is not None
            if not missing and error.errno not in (errno.ENOSYS, errno.EPERM, errno.EACCES):
                raise
    return _walk(root_fd, path, create, owner)


def _openat2_retrying(root_fd: int, path: str) -> int:
    """openat2 RESOLVE_IN_ROOT, tried again on EAGAIN: the kernel answers so when a rename
    anywhere on the system raced a ".." in the lookup, and asks the caller to retry
    (openat2(2))."""
    for _ in range(MAX_SYMLINKS):
        try:
            return openat2(
                root_fd, path, os.O_PATH | os.O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS
            )
        except BlockingIOError:
            continue
    return openat2(root_fd, path, os.O_PATH | os.O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)


def _components(path: str) -> list[str]:
    """The names in `path`; "." stays (it asks for a directory, as a trailing slash does)."""
    parts = [p for p in path.split("/") if p]
    return [*parts, "."] if path.endswith("/") and parts else parts


def _walk(root_fd: int, path: str, create: Create, owner: tuple[int, int] | None) -> int:
    """Resolve one component at a time; `stack` holds a descriptor per directory entered,
    so ".." pops back (never above the root) instead of asking the kernel."""
    stack = [os.dup(root_fd)]
    pending = _components(path)
    budget = MAX_SYMLINKS  # symlinks followed plus creations retried after a race
    try:
        while pending:
            part = pending.pop(0)
            if part == ".":
                continue
            if part == "..":
                if len(stack) > 1:
                    os.close(stack.pop())
                continue
            parent = stack[-1]
            try:
                fd = os.open(part, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
            except FileNotFoundError:
                if create is None or budget == 0:
                    raise
                budget -= 1
                _make(parent, part, "file" if create == "file" and not pending else "dir", owner)
                pending.insert(0, part)  # open it again: it may have been swapped meanwhile
                continue
            mode = os.fstat(fd).st_mode
            if stat.S_ISLNK(mode):
                try:
                    target = os.readlink("", dir_fd=fd)
                finally:
                    os.close(fd)
                if budget == 0:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
                budget -= 1
                if target.startswith("/"):
                    while len(stack) > 1:
                        os.close(stack.pop())
                pending[:0] = _components(target)
                continue
            if pending and not stat.S_ISDIR(mode):
                os.close(fd)
                raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)
            stack.append(fd)
        return stack.pop() if len(stack) > 1 else os.dup(stack[0])
    finally:
        for fd in stack:
            os.close(fd)


def _make(
    parent: int, name: str, kind: Literal["dir", "file"], owner: tuple[int, int] | None = None
) -> None:
    """Create `name` in the directory `parent` refers to; never through a symlink."""
    try:
        _create(parent, name, kind)
    except OSError as error:
        if not idmap.retry_as(owner, error):
            raise
        assert owner is not None
        with idmap.filesystem_ids(*owner):
            _create(parent, name, kind)


def _create(parent: int, name: str, kind: Literal["dir", "file"]) -> None:
    try:
        if kind == "dir":
            os.mkdir(name, 0o755, dir_fd=parent)
        else:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            os.close(os.open(name, flags, 0o644, dir_fd=parent))
    except FileExistsError:
        pass  # made meanwhile (maybe as a symlink): the next open decides


def open_parent(
    root_fd: int,
    path: str,
    *,
    kernel_resolve: bool = True,
    owner: tuple[int, int] | None = None,
) -> tuple[int, str]:
    """(descriptor of the directory that holds `path`, created if missing; last name)."""
    parent, _, name = path.rstrip("/").rpartition("/")
    if name in ("", ".", ".."):
        raise OSError(errno.EINVAL, "not a name of a file", path)
    fd = open_in_root(
        root_fd, parent or "/", create="dir", kernel_resolve=kernel_resolve, owner=owner
    )
    return fd, name
