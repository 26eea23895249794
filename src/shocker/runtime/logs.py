"""Container logs, read or followed: a json-file log's entries (and its rotated files), or
the raw bytes of a container made before json-file logs."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from shocker.record import record
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


def follow(
    path: Path, out: BinaryIO, is_running: Callable[[], bool], skip_existing: bool = False
) -> None:
    """Copy the log (unless skip_existing), then what is appended, until is_running() is
    False and all is read."""
    while True:
        try:
            log = path.open("rb")
            break
        except FileNotFoundError:
            if not is_running():
                return
            time.sleep(_POLL_S)
    with log:
        if skip_existing:
            log.seek(0, os.SEEK_END)
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


@record(frozen=True)
class LogEntry:
    """One json-file line: when, which stream, and the bytes (its newline included)."""

    time_ns: int
    stream: str
    data: bytes


def log_files(path: Path) -> list[Path]:
    """The json-file log and its rotated files, oldest first (path.N ... path.1, path)."""
    rotated = []
    index = 1
    while (candidate := path.with_name(f"{path.name}.{index}")).exists():
        rotated.append(candidate)
        index += 1
    return [*reversed(rotated), path]


def read_entries(path: Path) -> list[LogEntry]:
    """Every entry of the log and its rotated files, in order."""
    entries: list[LogEntry] = []
    for file in log_files(path):
        try:
            with file.open("rb") as log:
                entries.extend(_parse_lines(log.read().splitlines(keepends=True)))
        except FileNotFoundError:
            continue  # rotated away meanwhile
    return entries


def follow_entries(
    path: Path, is_running: Callable[[], bool], deliver: Callable[[list[LogEntry]], bool]
) -> None:
    """Deliver every entry, then those appended (across rotations), until is_running() is
    False and the last ones are read, or deliver returns False."""
    while True:
        entries: list[LogEntry] = []
        for file in log_files(path)[:-1]:
            with contextlib.suppress(FileNotFoundError), file.open("rb") as rotated:
                entries.extend(_parse_lines(rotated.read().splitlines(keepends=True)))
        try:
            log = path.open("rb")
            break
        except FileNotFoundError:
            if not is_running():
                deliver(entries)
                return
            time.sleep(_POLL_S)
    try:
        lines = log.read().splitlines(keepends=True)
        tail = lines.pop() if lines and not lines[-1].endswith(b"\n") else b""
        if not deliver(entries + list(_parse_lines(lines))):
            return
        while True:
            chunk = log.read()
            if chunk:
                lines = (tail + chunk).splitlines(keepends=True)
                tail = lines.pop() if not lines[-1].endswith(b"\n") else b""
                if not deliver(list(_parse_lines(lines))):
                    return
                continue
            if _truncated_or_moved(path, log):
                # Rotated: the rest of our file, any file rotated after it, then the new one.
                lines = (tail + log.read()).splitlines(keepends=True)
                for newer in _rotated_after(path, os.fstat(log.fileno()).st_ino):
                    lines += newer
                log.close()
                log = path.open("rb")
                tail = b""
                if not deliver(list(_parse_lines(lines))):
                    return
                continue
            if not is_running():
                time.sleep(_POLL_S)  # the monitor may still be writing the last lines
                deliver(list(_parse_lines((tail + log.read()).splitlines(keepends=True))))
                return
            time.sleep(_POLL_S)
    finally:
        log.close()


def _truncated_or_moved(path: Path, log: BinaryIO) -> bool:
    """True when path is another file now; a file truncated below our offset (one log
    file, rotated in place) is read again from its start."""
    try:
        current = path.stat()
    except FileNotFoundError:
        return False
    if current.st_ino != os.fstat(log.fileno()).st_ino:
        return True
    if current.st_size < log.tell():
        log.seek(0)
    return False


def _rotated_after(path: Path, inode: int) -> list[list[bytes]]:
    """The lines of the rotated files newer than the one with this inode, oldest first."""
    files = log_files(path)[:-1]
    for position, file in enumerate(files):
        with contextlib.suppress(FileNotFoundError):
            if file.stat().st_ino == inode:
                newer = []
                for later in files[position + 1 :]:
                    with contextlib.suppress(FileNotFoundError):
                        newer.append(later.read_bytes().splitlines(keepends=True))
                return newer
    return []


def _parse_lines(lines: list[bytes]) -> Iterator[LogEntry]:
    import json

    for line in lines:
        try:
            item = json.loads(line)
            yield LogEntry(parse_time(item["time"]), item["stream"], item["log"].encode())
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # a torn or foreign line


def parse_time(text: str) -> int:
    """RFC 3339 (any fraction, Z or an offset; local time without one) -> nanoseconds
    since the epoch. ValueError when it is not such a time."""
    import datetime
    import re

    moment = datetime.datetime.fromisoformat(text)  # 3.11: Z, offsets, any fraction
    fraction = re.search(r"T[\d:]+\.(\d+)", text)
    nanos = int((fraction.group(1) + "000000000")[:9]) if fraction else 0
    return int(moment.replace(microsecond=0).timestamp()) * 1_000_000_000 + nanos


_DURATION_UNITS = {
    "ns": 1,
    "us": 10**3,
    "\u00b5s": 10**3,
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}


def parse_moment(text: str, now_ns: int) -> int:
    """--since/--until as Docker reads them (timetypes.GetTimestamp): a duration back from
    now (60s, 2m, 1h30m), a Unix time (1700000000.5), or an RFC 3339 time or date (local
    time without a zone). Nanoseconds since the epoch; ValueError when none fits."""
    import re

    value = text.strip()
    parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|ms|s|m|h)", value)
    if parts and "".join(n + u for n, u in parts) == value:
        return now_ns - int(sum(float(n) * _DURATION_UNITS[u] for n, u in parts))
    if re.fullmatch(r"\d+(\.\d{1,9})?", value):
        seconds, _, nanos = value.partition(".")
        return int(seconds) * 10**9 + int((nanos + "000000000")[:9])
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?", value):
        raise ValueError(value)
    return parse_time(value)
