"""Decompress a layer blob by sniffing its first bytes: gzip, zstd, or a plain tar."""

from __future__ import annotations

import io
import os
import zlib

from shocker.errors import StorageError
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, BinaryIO

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
CHUNK = 1 << 20


class _Prefixed(io.RawIOBase):
    """`fileobj` with the sniffed bytes put back in front."""

    def __init__(self, head: bytes, fileobj: BinaryIO) -> None:
        self._head = head
        self._fileobj = fileobj

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._head:
            head, self._head = self._head, b""
            return head
        return self._fileobj.read(size)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _GzipReader(io.RawIOBase):
    """Streaming gzip (all members, RFC 1952) with large reads: faster than `gzip.GzipFile`."""

    def __init__(self, fileobj: BinaryIO) -> None:
        self._fileobj = fileobj
        self._inflate = zlib.decompressobj(wbits=31)
        self._eof = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        limit = CHUNK if size is None or size < 0 else size
        while not self._eof:
            if self._inflate.eof:
                # After a member's end zlib may still show input in unconsumed_tail; what
                # follows the member is in unused_data.
                pending = self._next_member()
                if not pending:
                    break
            else:
                pending = self._inflate.unconsumed_tail or self._fileobj.read(CHUNK)
                if not pending:
                    raise StorageError("layer blob ends early (truncated gzip stream)")
            data = self._inflate.decompress(pending, limit)
            if data:
                return data
        return b""

    def _next_member(self) -> bytes:
        """Input of the next gzip member (RFC 1952 2.2), skipping zero padding; b"" at EOF."""
        pending = self._inflate.unused_data.lstrip(b"\0")
        while not pending:
            more = self._fileobj.read(CHUNK)
            if not more:
                self._eof = True
                return b""
            pending = more.lstrip(b"\0")
        self._inflate = zlib.decompressobj(wbits=31)
        return pending

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _ZstdReader(io.RawIOBase):
    """zstandard's reader with its errors as StorageError."""

    def __init__(self, reader: Any, error_type: type[Exception]) -> None:
        self._reader = reader
        self._error_type = error_type

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        try:
            data: bytes = self._reader.read(CHUNK if size is None or size < 0 else size)
        except self._error_type as error:
            raise StorageError(f"layer blob is corrupt: {error}") from None
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def open_decompressed(fileobj: BinaryIO) -> BinaryIO:
    """A readable stream of the uncompressed tar held in `fileobj` (gzip, zstd or plain)."""
    head = fileobj.read(4)
    source: BinaryIO = _Prefixed(head, fileobj)  # type: ignore[assignment]
    if head.startswith(GZIP_MAGIC):
        return _GzipReader(source)  # type: ignore[return-value]
    if head == ZSTD_MAGIC:
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(
            source, read_size=CHUNK, read_across_frames=True
        )
        return _ZstdReader(reader, zstandard.ZstdError)  # type: ignore[return-value]
    return source


class HashingReader(io.RawIOBase):
    """Reads `fileobj`, hashing every byte: a compressed blob's digest while it is applied."""

    def __init__(self, fileobj: BinaryIO) -> None:
        import hashlib

        self._fileobj = fileobj
        self.hash = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._fileobj.read(size)
        self.hash.update(data)
        self.size += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def digest(self) -> str:
        return "sha256:" + self.hash.hexdigest()


def sniff_compression(path: str | os.PathLike[str]) -> str:
    """ "gzip", "zstd" or "" (a plain tar, or anything else) from a blob's first bytes."""
    with open(path, "rb") as blob:
        head = blob.read(4)
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    return "zstd" if head == ZSTD_MAGIC else ""


def blob_hashes(path: str | os.PathLike[str]) -> tuple[str, str, int]:
    """(diff_id, digest, size) of a layer blob: the sha256 of its uncompressed tar and of
    its own bytes, read once."""
    with open(path, "rb") as blob:
        raw = HashingReader(blob)
        tar = HashingReader(open_decompressed(raw))  # type: ignore[arg-type]
        while tar.read(CHUNK):
            pass
    return tar.digest(), raw.digest(), raw.size
