"""Write an archive tar member by member onto a file descriptor: small documents from bytes,
blobs straight from their files (sendfile(2), no copy through Python), and streams of
unknown length whose header is patched once their size is known (seekable outputs only).

`tarfile` needs every size up front and copies data through 16 KB buffers. Headers are
tarfile's own (`TarInfo.tobuf`, GNU format: base-256 sizes beyond 8 GiB fit the header).
"""

from __future__ import annotations

import errno
import fcntl
import os
import tarfile

from shocker.errors import StorageError
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

BLOCK = 512
RECORD = 20 * BLOCK  # what tar(1) and tarfile pad an archive to
_SENDFILE_STEP = 1 << 30


def header(name: str, size: int, mode: int = 0o644, kind: bytes = tarfile.REGTYPE) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime, info.type = size, mode, 0, kind
    info.uname = info.gname = ""
    return info.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape")


class TarWriter:
    """Members written in order to `fd`; `close()` writes the end-of-archive blocks.
    `label` names the output in errors (a path, or stdout)."""

    def __init__(self, fd: int, label: str = "the archive") -> None:
        self.fd = fd
        self.label = label
        self.offset = 0  # bytes written so far
        try:
            self.start: int | None = os.lseek(fd, 0, os.SEEK_CUR)
        except OSError:
            self.start = None  # a pipe or a terminal
        if self.start is not None and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND:
            self.start = None  # pwrite(2) would append, not patch

    @property
    def seekable(self) -> bool:
        return self.start is not None

    def _write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view) :]
        except OSError as error:
            raise StorageError(f"cannot write {self.label}: {error.strerror}") from None
        self.offset += len(data)

    def _pad(self, size: int) -> None:
        if size % BLOCK:
            self._write(bytes(BLOCK - size % BLOCK))

    def add_directory(self, name: str) -> None:
        self._write(header(name.rstrip("/") + "/", 0, 0o755, tarfile.DIRTYPE))

    def add_bytes(self, name: str, data: bytes) -> None:
        self._write(header(name, len(data)))
        self._write(data)
        self._pad(len(data))

    def add_file(self, name: str, path: str) -> None:
        """The file at `path` as member `name`, sent by the kernel."""
        try:
            source = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as error:
            raise StorageError(f"cannot read {path}: {error.strerror}") from None
        try:
            size = os.fstat(source).st_size
            self._write(header(name, size))
            self._send(source, size)
        finally:
            os.close(source)
        self._pad(size)

    def _send(self, source: int, size: int) -> None:
        sent = 0
        try:
            while sent < size:
                step = os.sendfile(self.fd, source, sent, min(size - sent, _SENDFILE_STEP))
                if step == 0:
                    raise StorageError("a blob is shorter than it was when the save began")
                sent += step
        except OSError as error:
            if sent == 0 and error.errno in (errno.EINVAL, errno.ENOSYS):  # copy it ourselves
                self._copy(source, size)
                return
            raise StorageError(f"cannot write {self.label}: {error.strerror}") from None
        self.offset += size

    def _copy(self, source: int, size: int) -> None:
        done = 0
        while done < size:
            chunk = os.pread(source, min(1 << 20, size - done), done)
            if not chunk:
                raise StorageError("a blob is shorter than it was when the save began")
            self._write(chunk)
            done += len(chunk)

    def add_stream(self, name: str, chunks: Iterable[bytes], size: int | None = None) -> int:
        """A member from `chunks`; `size` may be None on a seekable output, where the header
        is written again once the data is. Returns the number of bytes written."""
        if size is None and not self.seekable:
            raise StorageError("a member of unknown size needs a seekable output")
        start = self.offset
        self._write(header(name, size or 0))
        written = 0
        for chunk in chunks:
            self._write(chunk)
            written += len(chunk)
        if size is not None and written != size:
            raise StorageError(f"{name}: wrote {written} bytes, expected {size}")
        if size is None:
            assert self.start is not None
            try:
                os.pwrite(self.fd, header(name, written), self.start + start)
            except OSError as error:
                raise StorageError(f"cannot write {self.label}: {error.strerror}") from None
        self._pad(written)
        return written

    def close(self) -> None:
        self._write(bytes(2 * BLOCK))
        if self.offset % RECORD:
            self._write(bytes(RECORD - self.offset % RECORD))
