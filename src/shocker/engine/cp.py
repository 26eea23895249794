"""`cp`: files between a container's filesystem and the host, or a tar stream, with
Docker's rules for SRC and DEST (a trailing `/.` copies a directory's contents).

Paths in the container are resolved through descriptors inside its root (linux.inroot),
and the tree is read and written by descriptor (store.members, store.unpack), so `..` or a
symlink in the container never reaches the host outside DEST. A running container is seen
through /proc/PID/root (its volumes and tmpfs mounts included); a stopped one through its
root filesystem, with its volumes and binds mounted over it in cp's own mount namespace.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import stat
from pathlib import Path

from shocker.engine.status import is_running
from shocker.errors import NotFound, ShockerError, UsageError
from shocker.linux import inroot
from shocker.static import TYPE_CHECKING
from shocker.store.members import walk
from shocker.store.unpack import apply_members

if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import BinaryIO

    from shocker.store.container_config import VolumeMount
    from shocker.store.containers import ContainerRecord
    from shocker.store.members import Members
    from shocker.store.store import Store


def split_argument(text: str) -> tuple[str | None, str]:
    """(container, path) or (None, local path), as the Docker CLI splits `cp` arguments:
    an absolute path or one starting with `.` is local even with a colon in it."""
    if text.startswith("/"):
        return None, text
    container, colon, path = text.partition(":")
    if not colon or container.startswith("."):
        return None, text
    return container, path


def copy(
    store: Store, source: str, destination: str, *, archive: bool, follow: bool = False
) -> None:
    """`shocker cp SOURCE DEST`: one side a container path, the other a host path or `-`;
    `follow` (-L): a symlink SOURCE is copied as what it points to, under its own name."""
    src_container, src_path = split_argument(source)
    dest_container, dest_path = split_argument(destination)
    if src_container is not None and dest_container is not None:
        raise UsageError("copying between containers is not supported")
    if src_container is None and dest_container is None:
        raise UsageError("one of SRC and DEST must be CONTAINER:PATH")
    if src_container is not None:
        record = store.containers.resolve(src_container)
        with _root(store, record) as root:
            followed = _followed(root, src_path) if follow else src_path
            _copy_out(root, record, followed, dest_path, archive, _split(src_path)[1])
    else:
        assert dest_container is not None
        record = store.containers.resolve(dest_container)
        with _root(store, record) as root:
            _copy_in(root, record, src_path, dest_path, archive, follow)


@contextlib.contextmanager
def _root(store: Store, record: ContainerRecord) -> Iterator[int]:
    """A descriptor of the container's root as its processes see it (or its rootfs)."""
    from shocker.linux.proc import is_alive

    path = str(store.layout.container_rootfs(record.id))
    running = is_running(record) and record.pid is not None
    if running:
        path = f"/proc/{record.pid}/root"
    volumes = () if running else record.config.volumes
    if volumes:
        _private_mounts(record)  # before the root is opened: mounts go on this namespace's
    try:
        fd = inroot.open_root(path)
    except OSError as error:
        raise ShockerError(f"cannot open the filesystem of {record.id}: {error.strerror}") from None
    try:
        _mount_volumes(fd, record, volumes)
    except BaseException:
        os.close(fd)
        raise
    try:
        # The pid might have been reused by the time we opened its root: check it still is
        # the container's pid 1.
        if running and not is_alive(record.pid or 0, record.pid_start_time):
            raise ShockerError(f"container {record.id} stopped while copying")
        yield fd
    finally:
        os.close(fd)


def _private_mounts(record: ContainerRecord) -> None:
    """This process in a mount namespace of its own, whose mounts go when it exits."""
    from shocker.linux import syscalls as sc

    try:
        sc.unshare(sc.CLONE_NEWNS)
        sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)
    except OSError as error:
        raise ShockerError(f"cannot mount the volumes of {record.id}: {error.strerror}") from None


def _mount_volumes(root: int, record: ContainerRecord, volumes: tuple[VolumeMount, ...]) -> None:
    """A stopped container's volumes and bind mounts where it has them, as Docker does for
    cp (in the private mount namespace _private_mounts made)."""
    from shocker.linux import syscalls as sc

    for volume in sorted(volumes, key=lambda v: v.destination.count("/")):
        source, destination = volume.source, volume.destination
        try:
            is_dir = os.path.isdir(source)  # noqa: PTH112
            point = inroot.open_in_root(root, destination, create="dir" if is_dir else "file")
            try:
                sc.mount(source, inroot.fd_path(point), None, sc.MS_BIND | sc.MS_REC)
            finally:
                os.close(point)
            if volume.readonly:
                point = inroot.open_in_root(root, destination)
                try:
                    flags = sc.MS_REMOUNT | sc.MS_BIND | sc.MS_RDONLY
                    sc.mount(None, inroot.fd_path(point), None, flags)
                finally:
                    os.close(point)
        except OSError as error:
            raise ShockerError(
                f"cannot mount {source} at {destination} in {record.id}: {error.strerror}"
            ) from None


def _followed(root: int, path: str) -> str:
    """`path` with a symlink at its end replaced by its target, resolved inside the root
    (as often as it takes), keeping a trailing `/.`."""
    suffix = "/." if path.endswith(("/.", "/")) else ""
    current = posixpath.normpath("/" + path)
    for _ in range(40):
        parent, name = posixpath.split(current)
        try:
            parent_fd = inroot.open_in_root(root, parent)
        except OSError:
            return path  # missing: _copy_out names it
        try:
            target = os.readlink(name, dir_fd=parent_fd) if name else None
        except OSError:
            target = None  # not a symlink
        finally:
            os.close(parent_fd)
        if target is None:
            return current + suffix
        current = posixpath.normpath(posixpath.join(parent, target))
    raise UsageError(f"{path}: too many levels of symbolic links")


def _split(path: str) -> tuple[str, str, bool]:
    """(parent, last name, contents only) of a container or host path, cleaned lexically."""
    contents = path.endswith(("/.", "/")) or path in (".", "")
    clean = posixpath.normpath("/" + path) if not path.startswith("/") else posixpath.normpath(path)
    parent, name = posixpath.split(clean)
    return parent or "/", name, contents


def _copy_out(
    root: int, record: ContainerRecord, src: str, dest: str, archive: bool, base_name: str
) -> None:
    """`src` copied out under `base_name` (the name SRC had before -L followed it)."""
    parent, name, contents = _split(src)
    missing = NotFound(f"No such container:path: {record.name or record.id}:{src}")
    try:
        if contents or not name:
            source_fd = inroot.open_in_root(root, posixpath.join(parent, name))
            walk_name, base = ".", base_name or "/"
        else:
            source_fd = inroot.open_in_root(root, parent)
            walk_name, base = name, base_name or name
        is_dir = stat.S_ISDIR(os.stat(walk_name, dir_fd=source_fd, follow_symlinks=False).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        raise missing from None
    try:
        if contents and not is_dir:
            raise UsageError(f"{src} is not a directory")
        if dest == "-":
            import sys

            _write_tar(walk(source_fd, walk_name, "." if contents else base), sys.stdout.buffer)
            return
        owner = None if archive else (os.getuid(), os.getgid())
        target, arcname = _host_target(dest, is_dir, base, contents)
        target_fd = os.open(target, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            apply_members(walk(source_fd, walk_name, arcname, owner), target_fd)
        finally:
            os.close(target_fd)
    finally:
        os.close(source_fd)


def _host_target(dest: str, src_is_dir: bool, base: str, contents: bool) -> tuple[str, str]:
    """(directory written into, name of the copy there; "" for a directory's contents)."""
    try:
        info = Path(dest).stat()
    except FileNotFoundError:
        info = None
    if info is not None and stat.S_ISDIR(info.st_mode):
        return dest, "" if contents else base
    if info is not None:
        if src_is_dir:
            raise UsageError(f"cannot copy a directory to the file {dest}")
        return os.path.dirname(os.path.abspath(dest)), os.path.basename(dest)  # noqa: PTH120,PTH119,PTH100
    if dest.endswith("/") and not src_is_dir:
        raise UsageError(f"no such directory: {dest}")
    parent = os.path.dirname(os.path.abspath(dest))  # noqa: PTH120,PTH100
    if not os.path.isdir(parent):  # noqa: PTH112
        raise UsageError(f"no such directory: {parent}")
    return parent, os.path.basename(os.path.abspath(dest))  # noqa: PTH119,PTH100


def _copy_in(
    root: int, record: ContainerRecord, src: str, dest: str, archive: bool, follow: bool
) -> None:
    owner = None if archive else (0, 0)
    parent, name, contents = _split(dest)
    target_path = posixpath.join(parent, name)
    try:
        dest_fd: int | None = inroot.open_in_root(root, target_path)
    except (FileNotFoundError, NotADirectoryError):
        dest_fd = None
    try:
        dest_is_dir = dest_fd is not None and stat.S_ISDIR(os.fstat(dest_fd).st_mode)
        if src == "-":
            import sys

            if not dest_is_dir or dest_fd is None:
                raise UsageError(f"{dest} must be a directory in {record.id} to extract a tar into")
            apply_members(_owned(_stdin_members(sys.stdin.buffer), owner), dest_fd)
            return
        source_parent, source_name = _host_source(src, follow)
        try:
            is_dir = stat.S_ISDIR(
                os.stat(source_name, dir_fd=source_parent, follow_symlinks=False).st_mode
            )
            src_contents = src.endswith(("/.", "/"))
            given = os.path.basename(os.path.abspath(src))  # noqa: PTH119,PTH100
            base = given if follow or source_name == "." else source_name
            if dest_is_dir:
                assert dest_fd is not None
                arcname = "" if src_contents and is_dir else base
                apply_members(walk(source_parent, source_name, arcname, owner), dest_fd)
                return
            if dest_fd is not None and is_dir:
                raise UsageError(f"cannot copy a directory to the file {dest}")
            if dest_fd is None and contents and not is_dir:
                raise UsageError(f"no such directory in {record.id}: {dest}")
            try:
                parent_fd = inroot.open_in_root(root, parent)
            except (FileNotFoundError, NotADirectoryError):
                raise UsageError(f"no such directory in {record.id}: {parent}") from None
            try:
                apply_members(walk(source_parent, source_name, name, owner), parent_fd)
            finally:
                os.close(parent_fd)
        finally:
            os.close(source_parent)
    finally:
        if dest_fd is not None:
            os.close(dest_fd)


def _host_source(src: str, follow: bool = False) -> tuple[int, str]:
    """(descriptor of the directory holding SRC on the host, its name there); `follow`:
    of what a symlink SRC points to."""
    path = os.path.abspath(src)  # noqa: PTH100
    if follow and os.path.islink(path):  # noqa: PTH114
        path = os.path.realpath(path)
    if src.endswith(("/.", "/")):
        directory, name = path, "."
    else:
        directory, name = os.path.split(path)
    try:
        fd = os.open(directory, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        raise NotFound(f"no such file or directory: {src}") from None
    try:
        os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        os.close(fd)
        raise NotFound(f"no such file or directory: {src}") from None
    return fd, name


def _stdin_members(stream: BinaryIO) -> Members:
    from shocker.store.unpack import read_members

    return read_members(stream)


def _owned(members: Members, owner: tuple[int, int] | None) -> Members:
    for member, data in members:
        if owner is not None:
            member.uid, member.gid = owner
        yield member, data


def _write_tar(members: Members, out: BinaryIO) -> None:
    """The members as a tar stream (POSIX pax) on out."""
    import tarfile

    from shocker.store.members import FileData

    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for member, data in members:
            info = tarfile.TarInfo(member.name)
            info.type = member.type
            info.mode, info.uid, info.gid = member.mode, member.uid, member.gid
            info.size, info.mtime = member.size, member.mtime_ns / 1e9
            info.linkname = member.linkname
            info.devmajor, info.devminor = member.devmajor, member.devminor
            if isinstance(data, FileData):
                with os.fdopen(data.open(), "rb") as source:
                    tar.addfile(info, source)
            else:
                tar.addfile(info)
    out.flush()
