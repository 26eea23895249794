"""Container logs: the bytes the supervisor appended to the log file, read or followed."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import BinaryIO


_CHUNK = 65536
_POLL_S = 0.1


def read_all(path: Path, out: BinaryIO) -> None:
    """Copy the whole log to out (nothing when the container never wrote one)."""
    try:
        with path.open("rb") as log:
            _copy(log, out)
    except FileNotFoundError:
        return


def follow(path: Path, out: BinaryIO, is_running: Callable[[], bool]) -> None:
    """Copy the log, then what is appended, until is_running() is False and all is read."""
    while True:
        try:
            log = path.open("rb")
            break
        except FileNotFoundError:
            if not is_running():
                return
            time.sleep(_POLL_S)
    with log:
        while True:
            if _copy(log, out):
                continue
            if not is_running():
                # pid 1 is gone; its supervisor may still be draining the last output
                # into the log: one more poll picks that up.
                time.sleep(_POLL_S)
                _copy(log, out)
                return
            time.sleep(_POLL_S)


def _copy(log: BinaryIO, out: BinaryIO) -> bool:
    """Copy what is there; True if anything was."""
    copied = False
    while chunk := log.read(_CHUNK):
        out.write(chunk)
        copied = True
    if copied:
        out.flush()
    return copied
