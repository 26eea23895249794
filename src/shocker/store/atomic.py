"""Durable small files: atomic JSON/bytes writes (temp + fsync + rename) and flock locks."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from shocker import leanjson
from shocker.errors import StorageError
from shocker.leancontext import contextmanager
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


def write_bytes_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Replace `path` with `data` so readers see the old or the new content, never a mix.

    The temporary file lives in the same directory (rename(2) is atomic only within one
    filesystem) and is fsync'd before the rename so a crash cannot leave an empty file.
    `durable=False` skips the fsync (milliseconds on btrfs) for files rewritten on every
    start anyway, where a crash costs nothing but a rewrite.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(3).hex()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        tmp.replace(path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"cannot write {path}: {error.strerror}") from error


@contextmanager
def created_atomically(path: Path, mode: int = 0o666, durable: bool = False) -> Iterator[int]:
    """A descriptor to write the whole of a new `path` into: a hidden file beside it,
    renamed to `path` when the block ends normally and removed when it raises, so a failed
    `save -o` or `export -o` leaves no file (and an existing one unchanged). Not fsync'd
    unless `durable`: an archive is the user's to keep, as `docker save -o` leaves it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(3).hex()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    except OSError as error:
        raise StorageError(f"cannot write {path}: {error.strerror}") from error
    try:
        try:
            yield fd
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        tmp.replace(path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"cannot write {path}: {error.strerror}") from error
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def sync_file(path: Path) -> None:
    """fsync(2) a file written earlier without it; a StorageError if that fails."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as error:
        raise StorageError(f"cannot write {path}: {error.strerror}") from error


def write_json_atomic(path: Path, data: Any, durable: bool = True) -> None:
    write_bytes_atomic(
        path, leanjson.dumps(data, indent=1, sort_keys=True).encode() + b"\n", durable=durable
    )


def read_json(path: Path) -> Any:
    """Parsed JSON; FileNotFoundError passes through, a corrupt file is a StorageError."""
    with open(path, "rb") as file:
        raw = file.read()
    try:
        return leanjson.loads(raw)
    except ValueError as error:
        raise StorageError(f"{path} is corrupt: {error}") from error


@contextmanager
def file_lock(path: Path, shared: bool = False) -> Iterator[None]:
    """Hold flock(2) on `path` (created with its parents) for the duration of the block.

    flock locks belong to the open file description, so they are released when the
    process dies: a crashed shocker never leaves a stale lock behind.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def move(source: Path, dest: Path) -> None:
    """rename(2) of a finished file, directory or subvolume into place, as a StorageError."""
    try:
        source.rename(dest)
    except OSError as error:
        raise StorageError(f"cannot move {source} to {dest}: {error.strerror}") from error
