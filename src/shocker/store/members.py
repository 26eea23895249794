"""A directory tree read through descriptors as tar members: what `cp` copies (into
another directory through unpack.apply_members, or out as a tar stream).

Every entry is opened relative to its parent's descriptor with O_NOFOLLOW: a symlink is
copied as a link and never entered, so a tree inside a container cannot lead the walk
outside it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

from shocker.static import TYPE_CHECKING
from shocker.store.tarstream import (
    BLOCKDEV,
    CHARDEV,
    DIRECTORY,
    FIFO,
    HARDLINK,
    REGULAR,
    SYMLINK,
    Member,
)
from shocker.store.unpack import DataWriter

if TYPE_CHECKING:
    Members = Iterator[tuple[Member, DataWriter]]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1 << 20


def walk(
    parent_fd: int, name: str, arcname: str, owner: tuple[int, int] | None = None
) -> Iterator[tuple[Member, DataWriter]]:
    """Members for `name` in the directory open as parent_fd, and below it when it is a
    directory; names start with arcname ("" for a directory's contents alone). owner:
    (uid, gid) given to every member instead of the files' own."""
    links: dict[tuple[int, int], str] = {}
    yield from _walk(parent_fd, name, arcname, owner, links)


def _walk(
    parent_fd: int,
    name: str,
    arcname: str,
    owner: tuple[int, int] | None,
    links: dict[tuple[int, int], str],
) -> Iterator[tuple[Member, DataWriter]]:
    info = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
    member = _member(info, arcname, owner)
    mode = info.st_mode
    if stat.S_ISSOCK(mode):
        return  # a socket cannot be copied (tar has no type for it)
    if stat.S_ISLNK(mode):
        member.linkname = os.readlink(name, dir_fd=parent_fd)
    elif stat.S_ISREG(mode) and info.st_nlink > 1:
        key = (info.st_dev, info.st_ino)
        if key in links:
            member.type, member.linkname, member.size = HARDLINK, links[key], 0
        else:
            links[key] = arcname
    if not stat.S_ISDIR(mode):
        yield member, FileData(parent_fd, name) if member.type == REGULAR else _nothing
        return
    if arcname:
        yield member, _nothing  # a directory's contents alone leave the target's own alone
    fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    try:
        for child in sorted(os.listdir(fd)):  # noqa: PTH208 (a descriptor, not a path)
            yield from _walk(fd, child, f"{arcname}/{child}" if arcname else child, owner, links)
    finally:
        os.close(fd)


def _member(info: os.stat_result, arcname: str, owner: tuple[int, int] | None) -> Member:
    mode = info.st_mode
    kind = {
        stat.S_IFREG: REGULAR,
        stat.S_IFDIR: DIRECTORY,
        stat.S_IFLNK: SYMLINK,
        stat.S_IFCHR: CHARDEV,
        stat.S_IFBLK: BLOCKDEV,
        stat.S_IFIFO: FIFO,
    }.get(stat.S_IFMT(mode), REGULAR)
    is_device = kind in (CHARDEV, BLOCKDEV)
    uid, gid = owner if owner is not None else (info.st_uid, info.st_gid)
    return Member(
        name=arcname or ".",
        type=kind,
        mode=stat.S_IMODE(mode),
        uid=uid,
        gid=gid,
        size=info.st_size if kind == REGULAR else 0,
        mtime_ns=info.st_mtime_ns,
        linkname="",
        devmajor=os.major(info.st_rdev) if is_device else 0,
        devminor=os.minor(info.st_rdev) if is_device else 0,
    )


class FileData:
    """A regular member's data: written into an fd (a DataWriter), or opened for reading.
    Valid while the walk has not moved past the member."""

    def __init__(self, parent_fd: int, name: str) -> None:
        self.parent_fd = parent_fd
        self.name = name

    def open(self) -> int:
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
        return os.open(self.name, flags, dir_fd=self.parent_fd)

    def __call__(self, out: int) -> None:
        source = self.open()
        try:
            while chunk := os.read(source, _CHUNK):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out, view) :]
        finally:
            os.close(source)


def _nothing(_fd: int) -> None:
    return None
