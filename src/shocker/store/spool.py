"""An image archive read once, front to back (a file, or a pipe: `load` from stdin), its
regular members' data kept in a scratch directory under numbered names.

Archives list their documents anywhere (`docker save` writes manifest.json last), so
nothing can be interpreted before the end. Member names are never used as paths on disk:
they are keys, and a member or link that points outside the archive ("..", an absolute
name, a symlink climbing out) makes the archive invalid.
"""

from __future__ import annotations

import os
import zlib

from shocker.errors import StorageError
from shocker.oci.archive import ArchiveError
from shocker.record import record
from shocker.static import TYPE_CHECKING
from shocker.store.tarstream import DIRECTORY, HARDLINK, REGULAR, SYMLINK, TarStream

if TYPE_CHECKING:
    from pathlib import Path
    from typing import BinaryIO

_MAX_LINKS = 40  # the kernel's MAXSYMLINKS
_MAX_DOCUMENT = 64 << 20  # a manifest, index or config read into memory
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@record(frozen=True)
class SpooledFile:
    name: str  # the member name it was found under (links resolved)
    path: Path  # its data
    size: int


def archive_name(name: str) -> str:
    """A member name in canonical form ("./a//b" -> "a/b"); ArchiveError for a name that
    leaves the archive (absolute, or climbing with "..")."""
    if name.startswith("/"):
        raise ArchiveError(f"archive member '{name}' has an absolute name")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(f"archive member '{name}' points outside the archive")
    return "/".join(parts)


def _link_target(link: str, target: str) -> str:
    """A symlink's target as a member name, relative to the link's directory."""
    if target.startswith("/"):
        raise ArchiveError(f"archive link '{link}' points outside the archive ('{target}')")
    parts = link.split("/")[:-1]
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise ArchiveError(f"archive link '{link}' points outside the archive ('{target}')")
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


class SpooledArchive:
    """The members of one archive: regular files (data on disk) and links between them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files: dict[str, SpooledFile] = {}
        self.links: dict[str, str] = {}  # link name -> target member name

    def has(self, name: str) -> bool:
        try:
            self.resolve(name)
        except ArchiveError:
            return False
        return True

    def resolve(self, name: str) -> SpooledFile:
        """The regular file `name` refers to, following links inside the archive."""
        current = archive_name(name)
        for _ in range(_MAX_LINKS):
            found = self.files.get(current)
            if found is not None:
                return found
            if current not in self.links:
                raise ArchiveError(f"archive has no file '{name}'")
            current = self.links[current]
        raise ArchiveError(f"archive member '{name}': too many levels of links")

    def read(self, name: str) -> bytes:
        """A small member's bytes (a JSON document)."""
        member = self.resolve(name)
        if member.size > _MAX_DOCUMENT:
            raise ArchiveError(f"archive member '{name}' is too large to be a document")
        with open(member.path, "rb") as file:
            return file.read()


def spool_archive(stream: BinaryIO, directory: Path) -> SpooledArchive:
    """Read the uncompressed tar `stream` to its end into `directory` (created here; the
    caller removes it). ArchiveError for a corrupt, truncated or hostile archive."""
    try:
        directory.mkdir(mode=0o700)
    except OSError as error:
        raise StorageError(f"cannot create {directory}: {error.strerror}") from None
    archive = SpooledArchive(directory)
    tar = TarStream(stream, hashing=False)
    count = 0
    try:
        for member in tar:
            count += 1
            name = archive_name(member.name)
            if member.type == REGULAR:
                path = directory / str(len(archive.files))
                _write(tar, path)
                archive.files[name] = SpooledFile(name, path, member.size)
                archive.links.pop(name, None)
            elif member.type == SYMLINK:
                archive.links[name] = _link_target(name, member.linkname)
                archive.files.pop(name, None)
            elif member.type == HARDLINK:
                archive.links[name] = archive_name(member.linkname)
                archive.files.pop(name, None)
            elif member.type != DIRECTORY:
                raise ArchiveError(
                    f"archive member '{member.name}' is not a file, link or directory"
                )
    except ArchiveError:
        raise
    except StorageError as error:
        raise ArchiveError(f"archive is corrupt or truncated: {error.message}") from None
    except zlib.error as error:
        raise ArchiveError(f"archive is corrupt: {error}") from None
    except OSError as error:
        raise StorageError(f"cannot spool the archive into {directory}: {error.strerror}") from None
    if count == 0:
        raise ArchiveError("archive is empty or not a tar archive")
    return archive


def _write(tar: TarStream, path: Path) -> None:
    fd = os.open(path, _FLAGS, 0o600)
    try:
        for chunk in tar.chunks():
            view = chunk
            while view:
                view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
