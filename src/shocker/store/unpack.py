"""Apply one image layer (an uncompressed tar) onto a directory, never writing outside it.

Paths are resolved one component at a time below the target with O_NOFOLLOW, symlinks
interpreted as if the target were "/" (what a chroot would do), so absolute names, "..",
symlinks and hard links pointing outside all stay inside. `tarfile`'s filters don't fit
layers: "data" rejects device nodes, absolute symlinks and setuid bits that images use.
Whiteouts follow the OCI image spec, layer.md "Whiteouts".
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from shocker.errors import StorageError
from shocker.record import record
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
    TarStream,
)

if TYPE_CHECKING:
    from typing import Any, BinaryIO

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
_MAX_SYMLINKS = 40  # the kernel's MAXSYMLINKS
_MAX_CACHED_DIRS = 256  # open directory fds kept; the soft RLIMIT_NOFILE is often 1024
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_XATTR_IGNORED = (errno.EPERM, errno.EACCES, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EINVAL)

Parts = tuple[str, ...]
# Large files start their writeback as they are written: the layer's snapshot must flush
# every dirty byte of the layer (btrfs snapshot creation, in the caller's critical path).
WRITEBACK_STEP = 8 << 20
_SYNC_FILE_RANGE_WRITE = 2  # <linux/fs.h>; sync_file_range(2): start writeback, no wait
_sync_file_range: Any = None
FICLONE = 0x40049409  # <linux/fs.h>: _IOW(0x94, 9, int)
# Where the filesystem cannot share extents (or not across these files): copy the bytes.
_NO_CLONE = (errno.EXDEV, errno.EOPNOTSUPP, errno.ENOTTY, errno.EINVAL, errno.EPERM)


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing a range of `fd` to disk (sync_file_range(2)); best effort."""
    global _sync_file_range
    if _sync_file_range is None:
        import ctypes

        from shocker.linux.syscalls import LIBC

        function = LIBC.sync_file_range
        function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
        function.restype = ctypes.c_int
        _sync_file_range = function
    _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


def split_member_name(name: str) -> Parts:
    """A member name as components below the root: "/", "." and ".." past the root dropped."""
    parts: list[str] = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return tuple(parts)


# Writes a regular member's data into the open file descriptor given.
DataWriter = Callable[[int], None]


def apply_layer(tar_stream: BinaryIO, target: Path) -> str:
    """Apply the tar read from `tar_stream` onto the directory `target`.

    Returns the diff_id ("sha256:...") of every byte read, the stream being read to its end.
    Raises StorageError for a corrupt or unappliable layer.
    """
    stream = TarStream(tar_stream)
    applier = _Applier(target)
    try:
        for member in stream:
            applier.apply(member, lambda fd: _write_chunks(fd, stream))
        applier.finish()
        stream.drain()
    except zlib.error as error:
        raise StorageError(f"layer blob is corrupt: {error}") from None
    finally:
        applier.close()
    return stream.digest()


@record(frozen=True)
class StagedLayer:
    """A layer read to its end but not applied: its members in order, each regular file's
    data in `directory` under the member's index, and the diff_id of the tar."""

    directory: Path
    members: list[Member]
    diff_id: str


def stage_layer(tar_stream: BinaryIO, directory: Path) -> StagedLayer:
    """Read a layer's tar, keeping its members and writing file data to `directory` (made
    here; the caller deletes it), so that the layer's decompression, hashing and data writes
    need not wait for the layer below it to be applied. `apply_staged` applies it."""
    stream = TarStream(tar_stream)
    members: list[Member] = []
    try:
        directory.mkdir(mode=0o700)
        dir_fd = os.open(directory, _DIR_FLAGS)
    except OSError as error:
        raise StorageError(f"cannot create {directory}: {error.strerror}") from error
    try:
        for member in stream:
            if member.type == REGULAR:
                fd = os.open(str(len(members)), _FILE_FLAGS, 0o600, dir_fd=dir_fd)
                try:
                    _write_chunks(fd, stream)
                finally:
                    os.close(fd)
            members.append(member)
        stream.drain()
    except zlib.error as error:
        raise StorageError(f"layer blob is corrupt: {error}") from None
    except OSError as error:
        raise StorageError(f"cannot stage layer in {directory}: {error.strerror}") from None
    finally:
        os.close(dir_fd)
    return StagedLayer(directory, members, stream.digest())


def discard_stage(directory: Path) -> None:
    """Remove a stage directory (as stage_layer leaves it: files only); absent is fine.

    Not shutil.rmtree: its import (bz2, lzma) and walk cost ~3 ms each at the end of a
    pull, which removes its stages after the last layer and before the image record.
    """
    try:
        dir_fd = os.open(directory, _DIR_FLAGS)
    except FileNotFoundError:
        return
    try:
        with os.scandir(dir_fd) as entries:
            for entry in entries:
                os.unlink(entry.name, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)
    directory.rmdir()


def apply_staged(staged: StagedLayer, target: Path) -> None:
    """Apply a staged layer onto `target`, exactly as `apply_layer` applies its tar; file data
    is cloned from the staged files (FICLONE: on btrfs the extents are shared, not copied)."""
    applier = _Applier(target)
    dir_fd = os.open(staged.directory, _DIR_FLAGS)
    try:
        for index, member in enumerate(staged.members):
            applier.apply(member, _cloner(dir_fd, str(index)))
        applier.finish()
    finally:
        os.close(dir_fd)
        applier.close()


def _write_chunks(fd: int, stream: TarStream) -> None:
    flushed = written = 0
    for chunk in stream.chunks():
        written += len(chunk)
        while chunk:
            chunk = chunk[os.write(fd, chunk) :]
        if written - flushed >= WRITEBACK_STEP:
            start_writeback(fd, flushed, written - flushed)
            flushed = written
    if written - flushed >= WRITEBACK_STEP // 4:
        start_writeback(fd, flushed, written - flushed)


def _cloner(dir_fd: int, name: str) -> DataWriter:
    return lambda fd: _clone_staged(fd, dir_fd, name)


def _clone_staged(fd: int, dir_fd: int, name: str) -> None:
    source = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        size = os.fstat(source).st_size
        if not size:
            return
        try:
            fcntl.ioctl(fd, FICLONE, source)
            return
        except OSError as error:
            if error.errno not in _NO_CLONE:
                raise
        copied = 0
        while copied < size:
            step = os.copy_file_range(source, fd, size - copied, copied, copied)
            if step == 0:
                raise StorageError("a staged layer file is shorter than it was written")
            copied += step
    finally:
        os.close(source)


def apply_members(
    members: Iterable[tuple[Member, DataWriter]], target_fd: int, *, whiteouts: bool = False
) -> None:
    """Write members (each with the writer of its data) into the directory open as
    target_fd, never outside it: `cp` into a container or out of one. Without whiteouts,
    `.wh.` names are ordinary files. Raises StorageError naming the member that failed."""
    applier = _Applier(target_fd, whiteouts=whiteouts)
    try:
        for member, data in members:
            applier.apply(member, data)
        applier.finish()
    finally:
        applier.close()


def read_members(tar_stream: BinaryIO) -> Iterator[tuple[Member, DataWriter]]:
    """The members of a tar stream, each with the writer of its data (for apply_members)."""
    stream = TarStream(tar_stream)
    try:
        for member in stream:
            yield member, lambda fd: _write_chunks(fd, stream)
    except zlib.error as error:
        raise StorageError(f"the tar stream is corrupt: {error}") from None


class _Applier:
    def __init__(self, target: Path | int, *, whiteouts: bool = True) -> None:
        self.whiteouts = whiteouts
        try:
            # An fd (of a directory resolved inside a container's root) is reopened for
            # reading: an O_PATH descriptor cannot list a directory.
            if isinstance(target, int):
                self.root = os.open(".", _DIR_FLAGS, dir_fd=target)
            else:
                self.root = os.open(target, _DIR_FLAGS)
        except OSError as error:
            raise StorageError(f"cannot open {target}: {error.strerror}") from error
        root_stat = os.fstat(self.root)
        self.root_id = (root_stat.st_dev, root_stat.st_ino)
        self.is_root_user = os.geteuid() == 0
        # Directory fds by member path; `aliased` once any of them was reached via a symlink.
        self.cache: dict[Parts, int] = {}
        self.aliased = False
        self.retired: list[int] = []
        # Paths this layer wrote (with their ancestors): whiteouts only hide lower content.
        self.created: set[Parts] = set()
        # Directory metadata is applied last: creating children would change the mtime.
        self.dirs: dict[Parts, Member] = {}

    def close(self) -> None:
        self._forget_all()
        self._close_retired()
        os.close(self.root)

    # Resolution inside the root.

    def _dir_fd(self, parts: Parts, create: bool) -> int:
        """An fd of directory `parts` (cached, do not close), creating missing ones if asked."""
        if not parts:
            return self.root
        fd = self.cache.get(parts)
        if fd is None:
            parent = self._dir_fd(parts[:-1], create)
            fd = self._walk(parent, [parts[-1]], create)
            if len(self.cache) >= _MAX_CACHED_DIRS:
                self._forget_all()
            self.cache[parts] = fd
        return fd

    def _walk(self, start: int, components: list[str], create: bool) -> int:
        """Follow `components` from `start`; symlinks are resolved inside the root."""
        current = os.dup(start)
        todo = components[::-1]
        links = 0
        try:
            while todo:
                name = todo.pop()
                if name in ("", "."):
                    continue
                if name == "..":
                    if not self._is_root(current):
                        current = self._step(current, os.open("..", _DIR_FLAGS, dir_fd=current))
                    continue
                try:
                    current = self._step(current, self._open_dir(current, name, create))
                except OSError as error:
                    if error.errno not in (errno.ELOOP, errno.ENOTDIR):
                        raise
                    target = self._link_target(current, name)
                    links += 1
                    if links > _MAX_SYMLINKS:
                        raise StorageError(f"too many levels of symbolic links at {name}") from None
                    self.aliased = True
                    if target.startswith("/"):
                        current = self._step(current, os.dup(self.root))
                    todo.extend(target.split("/")[::-1])
            return current
        except BaseException:
            os.close(current)
            raise

    @staticmethod
    def _step(old: int, new: int) -> int:
        os.close(old)
        return new

    @staticmethod
    def _open_dir(parent: int, name: str, create: bool) -> int:
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                raise
        os.mkdir(name, 0o755, dir_fd=parent)
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
        os.fchmod(fd, 0o755)  # not the umask's choice
        return fd

    @staticmethod
    def _link_target(parent: int, name: str) -> str:
        info = os.stat(name, dir_fd=parent, follow_symlinks=False)
        if not stat.S_ISLNK(info.st_mode):
            raise StorageError(f"layer needs '{name}' to be a directory, but it is a file")
        return os.readlink(name, dir_fd=parent)

    def _is_root(self, fd: int) -> bool:
        info = os.fstat(fd)
        return (info.st_dev, info.st_ino) == self.root_id

    def _forget(self, parts: Parts) -> None:
        """Drop cached fds that may resolve through `parts`, which is being removed."""
        if self.aliased:
            self._forget_all()
            return
        size = len(parts)
        for key in [k for k in self.cache if k[:size] == parts]:
            self.retired.append(self.cache.pop(key))

    def _forget_all(self) -> None:
        self.retired.extend(self.cache.values())
        self.cache.clear()
        self.aliased = False

    def _close_retired(self) -> None:
        for fd in self.retired:
            os.close(fd)
        self.retired.clear()

    # Members.

    def apply(self, member: Member, data: DataWriter) -> None:
        try:
            self._apply(member, data)
        except OSError as error:
            raise StorageError(
                f"cannot apply layer member {member.name}: {error.strerror}"
            ) from None
        finally:
            self._close_retired()

    def _apply(self, member: Member, data: DataWriter) -> None:
        parts = split_member_name(member.name)
        if not parts:
            if member.type == DIRECTORY:
                self.dirs[()] = member
            return
        directory, name = parts[:-1], parts[-1]
        if not self.whiteouts:
            pass
        elif name == OPAQUE_MARKER:
            self._make_opaque(self._dir_fd(directory, create=True), directory)
            return
        elif name.startswith(WHITEOUT_PREFIX):
            self._whiteout(directory, name[len(WHITEOUT_PREFIX) :])
            return
        parent = self._dir_fd(directory, create=True)
        self._mark_created(parts)
        if not self._clear_for(parent, name, parts, member):
            self._write(parent, name, parts, member, data)

    def _mark_created(self, parts: Parts) -> None:
        for end in range(len(parts), 0, -1):
            if parts[:end] in self.created:
                return
            self.created.add(parts[:end])

    def _whiteout(self, directory: Parts, name: str) -> None:
        # ".wh..wh.*" other than the opaque marker is AUFS bookkeeping: never content.
        if name in ("", ".", "..") or name.startswith(WHITEOUT_PREFIX) or "/" in name:
            return
        victim = (*directory, name)
        if victim in self.created:
            return
        try:
            parent = self._dir_fd(directory, create=False)
        except (FileNotFoundError, NotADirectoryError, StorageError):
            return  # nothing below to hide
        self._remove(parent, name, victim)

    def _make_opaque(self, fd: int, directory: Parts) -> None:
        """Remove lower content of a directory, keeping what this layer put there."""
        for name in os.listdir(fd):
            child = (*directory, name)
            if child not in self.created:
                self._remove(fd, name, child)
                continue
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                sub = os.open(name, _DIR_FLAGS, dir_fd=fd)
                try:
                    self._make_opaque(sub, child)
                finally:
                    os.close(sub)

    def _remove(self, parent: int, name: str, parts: Parts) -> None:
        try:
            info = os.stat(name, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(info.st_mode):
            self._forget(parts)
            size = len(parts)
            for key in [k for k in self.dirs if k[:size] == parts]:
                del self.dirs[key]
            # rmtree with dir_fd walks by fd and never follows symlinks (shutil docs). Imported
            # here: shutil loads bz2 and lzma (~3 ms), and most layers remove no directory.
            import shutil

            shutil.rmtree(name, dir_fd=parent)
        else:
            if stat.S_ISLNK(info.st_mode):
                self._forget(parts)
            os.unlink(name, dir_fd=parent)

    def _clear_for(self, parent: int, name: str, parts: Parts, member: Member) -> bool:
        """Make room for `member`; True when an existing directory is kept for a directory."""
        try:
            info = os.stat(name, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if member.type == DIRECTORY and stat.S_ISDIR(info.st_mode):
            self.dirs[parts] = member
            self._set_xattrs_at(parent, name, member)
            return True
        if member.type == HARDLINK and split_member_name(member.linkname) == parts:
            return True
        self._remove(parent, name, parts)
        self.dirs.pop(parts, None)
        return False

    def _write(
        self, parent: int, name: str, parts: Parts, member: Member, data: DataWriter
    ) -> None:
        kind = member.type
        if kind == REGULAR:
            self._write_file(parent, name, member, data)
        elif kind == DIRECTORY:
            os.mkdir(name, 0o700, dir_fd=parent)
            self.dirs[parts] = member
            self._set_xattrs_at(parent, name, member)
        elif kind == SYMLINK:
            os.symlink(member.linkname, name, dir_fd=parent)
            self._own_at(parent, name, member)
            os.utime(name, ns=(member.mtime_ns,) * 2, dir_fd=parent, follow_symlinks=False)
        elif kind == HARDLINK:
            self._hardlink(parent, name, member)
        elif kind in (CHARDEV, BLOCKDEV, FIFO):
            self._write_node(parent, name, member)
        # Other types (GNU volume headers, unknown extensions) carry no file: skipped.

    def _write_file(self, parent: int, name: str, member: Member, data: DataWriter) -> None:
        fd = os.open(name, _FILE_FLAGS, 0o600, dir_fd=parent)
        try:
            data(fd)
            # chown clears setuid bits and security.capability: owner, then mode, then xattrs.
            if self.is_root_user:
                os.fchown(fd, member.uid, member.gid)
            os.fchmod(fd, member.mode)
            self._set_xattrs(fd, member)
            os.utime(fd, ns=(member.mtime_ns,) * 2)
        finally:
            os.close(fd)

    def _hardlink(self, parent: int, name: str, member: Member) -> None:
        source = split_member_name(member.linkname)
        if not source:
            raise StorageError(f"layer member {member.name} is a hard link to the root")
        try:
            source_parent = self._dir_fd(source[:-1], create=False)
            # linkat(2) without AT_SYMLINK_FOLLOW: the source's last component is not followed.
            os.link(
                source[-1],
                name,
                src_dir_fd=source_parent,
                dst_dir_fd=parent,
                follow_symlinks=False,
            )
        except (FileNotFoundError, NotADirectoryError):
            raise StorageError(
                f"layer member {member.name} links to {member.linkname}, which does not exist"
            ) from None

    def _write_node(self, parent: int, name: str, member: Member) -> None:
        if member.type == FIFO:
            os.mkfifo(name, 0o600, dir_fd=parent)
        else:
            kind = stat.S_IFCHR if member.type == CHARDEV else stat.S_IFBLK
            try:
                device = os.makedev(member.devmajor, member.devminor)
                os.mknod(name, kind | 0o600, device, dir_fd=parent)
            except PermissionError:
                if self.is_root_user:
                    raise
                return  # without CAP_MKNOD device nodes cannot exist (as rootless podman)
        self._own_at(parent, name, member)
        # Just created by us in a directory no one else writes: not a symlink.
        os.chmod(name, member.mode, dir_fd=parent)
        os.utime(name, ns=(member.mtime_ns,) * 2, dir_fd=parent, follow_symlinks=False)

    def _own_at(self, parent: int, name: str, member: Member) -> None:
        if self.is_root_user:
            os.chown(name, member.uid, member.gid, dir_fd=parent, follow_symlinks=False)

    def _set_xattrs_at(self, parent: int, name: str, member: Member) -> None:
        if member.xattrs:
            fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
            try:
                self._set_xattrs(fd, member)
            finally:
                os.close(fd)

    @staticmethod
    def _set_xattrs(fd: int, member: Member) -> None:
        for key, value in member.xattrs.items():
            try:
                os.setxattr(fd, key, value)
            except OSError as error:
                if error.errno not in _XATTR_IGNORED:
                    raise

    def finish(self) -> None:
        """Directory owners, modes and mtimes, children before parents."""
        for parts in sorted(self.dirs, reverse=True):
            member = self.dirs[parts]
            try:
                fd = self._open_existing_dir(parts)
            except (OSError, StorageError):
                continue  # replaced or removed later in this layer
            try:
                if self.is_root_user:
                    os.fchown(fd, member.uid, member.gid)
                os.fchmod(fd, member.mode)
                os.utime(fd, ns=(member.mtime_ns,) * 2)
            finally:
                os.close(fd)
                self._close_retired()

    def _open_existing_dir(self, parts: Parts) -> int:
        if not parts:
            return os.dup(self.root)
        parent = self._dir_fd(parts[:-1], create=False)
        return os.open(parts[-1], _DIR_FLAGS, dir_fd=parent)
