"""Small JSON state files under an exclusive lock (IPAM addresses, published ports)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

from shocker.errors import NetworkError
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


# Each update runs read-modify-write while holding flock(2) on a sibling `.lock` file, and
# replaces the file by rename(2), so readers never see half a file. No fsync: what these files
# describe (live containers, their veths and rules) does not survive a host crash either, and
# fifty concurrent starts would otherwise queue behind fifty disk flushes.


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock named after `path` (created with its directory when missing)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
    try:
        try:
            fd = os.open(f"{path}.lock", flags, 0o600)
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(f"{path}.lock", flags, 0o600)
    except OSError as error:
        raise NetworkError(f"cannot lock {path}: {error.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def read(path: Path) -> dict[str, Any]:
    """The file's object, or {} when it does not exist yet."""
    from shocker.jsonfile import read_object

    return read_object(path, NetworkError)


def write(path: Path, data: dict[str, Any]) -> None:
    """Replace the file atomically (temp file, rename); call it under `locked`."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w") as f:
            # Compact: an indent would switch json to its slower pure-Python encoder.
            f.write(json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n")
        temporary.replace(path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise NetworkError(f"cannot write {path}: {error.strerror}") from None
