"""Writing COPY/ADD sources into a step's root filesystem (and the few reads and directories
other steps need there), every path resolved inside that root through descriptors
(linux/inroot.py): a symlink an earlier step left never leads a write onto the host."""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shocker.engine.build.sources import Entry, Source, SourceTree
from shocker.errors import BuildError
from shocker.linux import inroot


@dataclass(frozen=True)
class Ownership:
    """--chown (None: keep root, as Docker copies as 0:0) and --chmod (None: the source's)."""

    uid: int = 0
    gid: int = 0
    mode: int | None = None


def destination_path(dest: str, workdir: str) -> str:
    """COPY's destination as an absolute container path (relative ones start at WORKDIR);
    a trailing `/` kept, since it means "a directory"."""
    joined = dest if dest.startswith("/") else posixpath.join(workdir or "/", dest)
    cleaned = posixpath.normpath(joined)
    cleaned = "/" if cleaned in ("/", "//") else cleaned
    return cleaned + "/" if dest.endswith("/") and cleaned != "/" else cleaned


def copy_sources(
    root: Path,
    sources: list[tuple[SourceTree, Source]],
    dest: str,
    owner: Ownership,
) -> None:
    """Docker's COPY rules: a directory's content goes into `dest`; a file lands at `dest`,
    or in it when `dest` ends with `/`, is a directory already, or several sources are given.
    Each source comes with the tree it is read from (the context, a here-document's)."""
    with _root(root) as root_fd:
        into_dir = dest.endswith("/") or len(sources) > 1 or _is_dir(root_fd, dest)
        if len(sources) > 1 and not dest.endswith("/"):
            raise BuildError(
                f"when copying several sources the destination must end with /: {dest}"
            )
        for tree, source in sources:
            if source.is_dir:
                base = dest.rstrip("/") or "/"
                _make_dir(root_fd, base)
                for entry in tree.entries(source):
                    if entry.relative:
                        _copy_entry(root_fd, entry, posixpath.join(base, entry.relative), owner)
            else:
                target = posixpath.join(dest, posixpath.basename(source.name)) if into_dir else dest
                for entry in tree.entries(source):
                    _copy_entry(root_fd, entry, target, owner)


def is_dir_in(root: Path, path: str) -> bool:
    """Whether container path `path` is a directory in the root filesystem `root`."""
    with _root(root) as root_fd:
        return _is_dir(root_fd, path)


def make_dir_in(root: Path, path: str) -> None:
    """Container path `path` made a directory (and its parents) in `root` (WORKDIR)."""
    with _root(root) as root_fd:
        _make_dir(root_fd, path)


def read_in(root: Path | None, path: str) -> str:
    """The text of container path `path` in `root` ("" when absent or unreadable)."""
    if root is None:
        return ""
    with _root(root) as root_fd:
        try:
            fd = inroot.open_in_root(root_fd, path)
        except OSError:
            return ""
    try:
        with open(inroot.fd_path(fd)) as file:
            return file.read()
    except OSError:
        return ""
    finally:
        os.close(fd)


@contextlib.contextmanager
def _root(root: Path) -> Iterator[int]:
    fd = inroot.open_root(str(root))
    try:
        yield fd
    finally:
        os.close(fd)


def _is_dir(root_fd: int, path: str) -> bool:
    try:
        fd = inroot.open_in_root(root_fd, path)
    except OSError:
        return False
    try:
        return stat.S_ISDIR(os.fstat(fd).st_mode)
    finally:
        os.close(fd)


def _make_dir(root_fd: int, path: str) -> None:
    try:
        os.close(inroot.open_in_root(root_fd, path, create="dir"))
    except OSError as error:
        raise BuildError(f"cannot create {path}: {error.strerror}") from None


def _copy_entry(root_fd: int, entry: Entry, path: str, owner: Ownership) -> None:
    try:
        parent, name = inroot.open_parent(root_fd, path)
    except OSError as error:
        raise BuildError(f"cannot copy to {path}: {error.strerror}") from None
    try:
        _write(parent, name, entry, owner)
    except OSError as error:
        raise BuildError(f"cannot copy {entry.path.name} to {path}: {error.strerror}") from None
    finally:
        os.close(parent)


def _existing(parent: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _write(parent: int, name: str, entry: Entry, owner: Ownership) -> None:
    info = entry.info
    mode = owner.mode if owner.mode is not None else stat.S_IMODE(info.st_mode)
    present = _existing(parent, name)
    if stat.S_ISDIR(info.st_mode):
        if present is not None and not stat.S_ISDIR(present.st_mode):
            os.unlink(name, dir_fd=parent)
            present = None
        if present is None:
            os.mkdir(name, 0o700, dir_fd=parent)
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent)
        _finish(fd, mode, owner, info)
        return
    if present is not None:
        if stat.S_ISDIR(present.st_mode):
            raise OSError(21, "Is a directory")
        os.unlink(name, dir_fd=parent)
    if stat.S_ISLNK(info.st_mode):
        os.symlink(entry.path.readlink(), name, dir_fd=parent)
        os.chown(name, owner.uid, owner.gid, dir_fd=parent, follow_symlinks=False)
        return
    if not stat.S_ISREG(info.st_mode):
        return  # sockets, devices and fifos of a context are not copied (as BuildKit)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(name, flags, 0o600, dir_fd=parent)
    try:
        with open(entry.path, "rb") as source:
            _copy_data(source.fileno(), fd, info.st_size)
    except BaseException:
        os.close(fd)
        raise
    _finish(fd, mode, owner, info)


def _copy_data(source: int, target: int, size: int) -> None:
    """copy_file_range (a reflink within one btrfs), else sendfile (across filesystems,
    where older kernels answer EXDEV)."""
    left = size
    ranged = True
    while left > 0:
        if ranged:
            try:
                done = os.copy_file_range(source, target, left)
            except OSError as error:
                if error.errno not in (errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                    raise
                ranged = False
                continue
        else:
            done = os.sendfile(target, source, None, left)
        if done == 0:
            break
        left -= done


def _finish(fd: int, mode: int, owner: Ownership, info: os.stat_result) -> None:
    try:
        os.fchown(fd, owner.uid, owner.gid)
        os.fchmod(fd, mode)
        os.utime(fd, ns=(info.st_mtime_ns, info.st_mtime_ns))
    finally:
        os.close(fd)
