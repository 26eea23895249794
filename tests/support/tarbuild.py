"""Layer tarballs built from plain descriptions, with fixed mtimes so digests are reproducible.

Members may be hostile on purpose (absolute names, `..`, links pointing outside): tarfile's
`addfile` writes a TarInfo as given, which is exactly what a malicious registry could send.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass

MTIME = 1_700_000_000  # fixed: identical inputs give identical blobs and digests

GZIP = "gzip"
ZSTD = "zstd"
PLAIN = "plain"


@dataclass(frozen=True)
class Member:
    """One tar member: `kind` is file, dir, symlink, hardlink, fifo or chardev."""

    name: str
    kind: str = "file"
    data: bytes = b""
    mode: int = 0o644
    target: str = ""  # symlink or hardlink target
    uid: int = 0
    gid: int = 0
    major: int = 0
    minor: int = 0


def file(name: str, data: bytes | str, mode: int = 0o644, uid: int = 0, gid: int = 0) -> Member:
    raw = data.encode() if isinstance(data, str) else data
    return Member(name, "file", raw, mode, uid=uid, gid=gid)


def directory(name: str, mode: int = 0o755) -> Member:
    return Member(name, "dir", mode=mode)


def symlink(name: str, target: str) -> Member:
    return Member(name, "symlink", mode=0o777, target=target)


def hardlink(name: str, target: str) -> Member:
    return Member(name, "hardlink", target=target)


def whiteout(path: str) -> Member:
    """`.wh.NAME` beside NAME: deletes NAME from lower layers (OCI image spec, layer.md)."""
    parent, _, base = path.rstrip("/").rpartition("/")
    return file(f"{parent}/.wh.{base}" if parent else f".wh.{base}", b"")


def opaque(directory_path: str) -> Member:
    """`.wh..wh..opq` inside a directory: hides everything lower layers put there."""
    return file(f"{directory_path.rstrip('/')}/.wh..wh..opq", b"")


def fifo(name: str) -> Member:
    return Member(name, "fifo", mode=0o644)


def chardev(name: str, major: int, minor: int, mode: int = 0o666) -> Member:
    return Member(name, "chardev", mode=mode, major=major, minor=minor)


_TYPES = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "fifo": tarfile.FIFOTYPE,
    "chardev": tarfile.CHRTYPE,
}


def tar_bytes(members: Iterable[Member]) -> bytes:
    """An uncompressed PAX tar of `members`, in order, names written exactly as given."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for member in members:
            info = tarfile.TarInfo(member.name)
            info.type = _TYPES[member.kind]
            info.mode = member.mode
            info.uid, info.gid = member.uid, member.gid
            info.uname = info.gname = ""
            info.mtime = MTIME
            info.linkname = member.target
            info.devmajor, info.devminor = member.major, member.minor
            if member.kind == "file":
                info.size = len(member.data)
                tar.addfile(info, io.BytesIO(member.data))
            else:
                tar.addfile(info)
    return buffer.getvalue()


def compress(tar: bytes, compression: str) -> bytes:
    if compression == GZIP:
        # Level 1: the tests care about the format, benches about speed; mtime=0 for determinism.
        return gzip.compress(tar, compresslevel=1, mtime=0)
    if compression == ZSTD:
        import zstandard

        data: bytes = zstandard.ZstdCompressor(level=3).compress(tar)
        return data
    if compression == PLAIN:
        return tar
    raise ValueError(f"unknown compression {compression!r}")


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()
