"""btrfs subvolumes through ioctl(2): create, snapshot, read-only flag, delete.

No `btrfs` binary on these paths: each exec costs milliseconds. The ioctl numbers and
argument structs come from linux/include/uapi/linux/btrfs.h.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import struct
from pathlib import Path

from shocker.errors import StorageError

BTRFS_SUPER_MAGIC = 0x9123683E
# The root directory of every subvolume has this inode number (BTRFS_FIRST_FREE_OBJECTID).
SUBVOLUME_ROOT_INODE = 256
_MAGIC = 0x94
_VOL_ARGS_SIZE = 4096  # struct btrfs_ioctl_vol_args: __s64 fd; char name[4088]
_VOL_ARGS_V2_SIZE = 4096  # fd, transid, flags, 32-byte union, char name[4040]
_NAME_OFFSET_V1 = 8
_NAME_OFFSET_V2 = 56
_NAME_MAX_V2 = 4039
_SUBVOL_RDONLY = 1 << 1
_FS_INFO_SIZE = 1024


def _iow(number: int, size: int) -> int:
    return (1 << 30) | (size << 16) | (_MAGIC << 8) | number


def _ior(number: int, size: int) -> int:
    return (2 << 30) | (size << 16) | (_MAGIC << 8) | number


IOC_SUBVOL_CREATE = _iow(14, _VOL_ARGS_SIZE)
IOC_SNAP_DESTROY = _iow(15, _VOL_ARGS_SIZE)
IOC_SNAP_CREATE_V2 = _iow(23, _VOL_ARGS_V2_SIZE)
IOC_SUBVOL_GETFLAGS = _ior(25, 8)
IOC_SUBVOL_SETFLAGS = _iow(26, 8)
IOC_FS_INFO = _ior(31, _FS_INFO_SIZE)


def _open_dir(path: Path) -> int:
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def _vol_args(name: str, offset: int, fd: int = 0, flags: int = 0) -> bytearray:
    encoded = os.fsencode(name)
    if not encoded or len(encoded) > _NAME_MAX_V2 or b"/" in encoded:
        raise StorageError(f"invalid subvolume name {name!r}")
    buf = bytearray(_VOL_ARGS_SIZE)
    struct.pack_into("=q", buf, 0, fd)
    if flags:
        struct.pack_into("=Q", buf, 16, flags)
    buf[offset : offset + len(encoded)] = encoded
    return buf


def is_btrfs(path: Path) -> bool:
    """Whether `path` lives on btrfs (statfs f_type 0x9123683E).

    Asked through BTRFS_IOC_FS_INFO, which only btrfs answers (others fail with ENOTTY):
    the same fact as statfs, without loading ctypes on every command.
    """
    try:
        fd = _open_dir(path)
    except OSError:
        return False
    try:
        fcntl.ioctl(fd, IOC_FS_INFO, bytearray(_FS_INFO_SIZE), True)
    except OSError as error:
        if error.errno in (errno.ENOTTY, errno.EINVAL, errno.EOPNOTSUPP):
            return False
        return _statfs_type(path) == BTRFS_SUPER_MAGIC
    finally:
        os.close(fd)
    return True


def _statfs_type(path: Path) -> int:
    import ctypes

    from shocker.linux.syscalls import LIBC as libc

    buf = ctypes.create_string_buffer(256)  # struct statfs is 120 bytes on 64-bit Linux
    if libc.statfs(os.fsencode(path), buf) != 0:
        return 0
    return ctypes.c_long.from_buffer(buf).value & 0xFFFFFFFF


def is_subvolume(path: Path) -> bool:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_ino == SUBVOLUME_ROOT_INODE


def create_subvolume(path: Path) -> None:
    try:
        parent = _open_dir(path.parent)
        try:
            fcntl.ioctl(parent, IOC_SUBVOL_CREATE, _vol_args(path.name, _NAME_OFFSET_V1), True)
        finally:
            os.close(parent)
    except OSError as error:
        raise StorageError(f"cannot create subvolume {path}: {error.strerror}") from error


def snapshot(source: Path, dest: Path, readonly: bool = False) -> None:
    """Snapshot subvolume `source` as `dest` (O(1): extents are shared, copy on write)."""
    try:
        source_fd = _open_dir(source)
        try:
            parent = _open_dir(dest.parent)
            try:
                args = _vol_args(
                    dest.name, _NAME_OFFSET_V2, source_fd, _SUBVOL_RDONLY if readonly else 0
                )
                fcntl.ioctl(parent, IOC_SNAP_CREATE_V2, args, True)
            finally:
                os.close(parent)
        finally:
            os.close(source_fd)
    except OSError as error:
        raise StorageError(f"cannot snapshot {source} as {dest}: {error.strerror}") from error


def _flags(fd: int) -> int:
    buf = bytearray(8)
    fcntl.ioctl(fd, IOC_SUBVOL_GETFLAGS, buf, True)
    value: int = struct.unpack("=Q", buf)[0]
    return value


def is_readonly(path: Path) -> bool:
    fd = _open_dir(path)
    try:
        return bool(_flags(fd) & _SUBVOL_RDONLY)
    finally:
        os.close(fd)


def set_readonly(path: Path, readonly: bool) -> None:
    try:
        fd = _open_dir(path)
        try:
            flags = _flags(fd)
            wanted = flags | _SUBVOL_RDONLY if readonly else flags & ~_SUBVOL_RDONLY
            if wanted != flags:
                fcntl.ioctl(fd, IOC_SUBVOL_SETFLAGS, bytearray(struct.pack("=Q", wanted)), True)
        finally:
            os.close(fd)
    except OSError as error:
        raise StorageError(f"cannot change read-only flag of {path}: {error.strerror}") from error


def _destroy(path: Path) -> None:
    parent = _open_dir(path.parent)
    try:
        fcntl.ioctl(parent, IOC_SNAP_DESTROY, _vol_args(path.name, _NAME_OFFSET_V1), True)
    finally:
        os.close(parent)


def _delete_nested(path: Path) -> None:
    """Delete every subvolume below `path` (its own inode 256 on its own st_dev)."""
    top_dev = path.lstat().st_dev
    pending = [path]
    while pending:
        directory = pending.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                if not entry.is_dir(follow_symlinks=False):
                    continue
                info = entry.stat(follow_symlinks=False)
                child = Path(entry.path)
                if info.st_ino == SUBVOLUME_ROOT_INODE and info.st_dev != top_dev:
                    delete_subvolume(child)
                else:
                    pending.append(child)


def delete_subvolume(path: Path) -> None:
    """Remove `path`: a subvolume (with any nested ones), or a plain directory or file.

    Idempotent: an absent path is not an error.
    """
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    try:
        if not stat.S_ISDIR(info.st_mode):
            path.unlink()
        elif info.st_ino != SUBVOLUME_ROOT_INODE or not is_btrfs(path):
            if is_btrfs(path):
                _delete_nested(path)
            import shutil

            shutil.rmtree(path)
        else:
            _delete_btrfs_subvolume(path)
    except FileNotFoundError:
        return
    except OSError as error:
        raise StorageError(f"cannot delete {path}: {error.strerror}") from error


def _delete_btrfs_subvolume(path: Path) -> None:
    try:
        _destroy(path)
    except OSError as error:
        if error.errno != errno.ENOTEMPTY:
            raise
        # Nested subvolumes block SNAP_DESTROY; a read-only parent blocks deleting them.
        if is_readonly(path):
            set_readonly(path, False)
        _delete_nested(path)
        _destroy(path)
