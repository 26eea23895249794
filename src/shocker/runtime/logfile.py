"""Writing a container's log: Docker's json-file format (one JSON object a line:
{"log": LINE, "stream": "stdout"|"stderr", "time": RFC 3339}), rotated as Docker rotates it.

Used by the supervisor and by the lean monitor, so it imports only os and time: the json
module would bring `re` into every running container's monitor. The encoding is therefore
written here (a translate table for the characters JSON requires escaped).
"""

from __future__ import annotations

import os
import time

# Not `typing.TYPE_CHECKING`: the monitor must not import typing.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

# Docker's copier splits lines longer than its 16 KiB buffer into partial entries.
MAX_LINE = 16 * 1024

_ESCAPES = {i: f"\\u{i:04x}" for i in range(0x20)}
_ESCAPES.update({ord("\n"): "\\n", ord("\t"): "\\t", ord("\r"): "\\r"})
_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\"})


def json_string(text: str) -> str:
    """text as a JSON string literal (RFC 8259 section 7)."""
    return '"' + text.translate(_ESCAPES) + '"'


def rfc3339(ns: int) -> str:
    """UTC time with nanoseconds, as Docker's RFC3339Nano: 2026-12-03T13:12:55.123456789Z."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d}Z"


class JsonLogFile:
    """Appends entries to `path`; past max_size bytes it rotates before the next entry
    (moby loggerutils.LogFile: path -> path.1 -> ... -> path.(max_files-1); with one
    file it starts again empty)."""

    def __init__(
        self, path: str, max_size: int | None, max_files: int, fd: int | None = None
    ) -> None:
        self.path = path
        self.max_size = max_size
        self.max_files = max_files
        if fd is None:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        self.fd = fd
        self.size = os.fstat(fd).st_size

    def write_entry(
        self, stream: str, line: bytes, clock: Callable[[], int] = time.time_ns
    ) -> bool:
        text = line.decode("utf-8", "replace")
        entry = (
            f'{{"log":{json_string(text)},"stream":"{stream}","time":"{rfc3339(clock())}"}}\n'
        ).encode()
        try:
            if self.max_size is not None and self.size >= self.max_size:
                self._rotate()
            os.write(self.fd, entry)
        except OSError:
            return False
        self.size += len(entry)
        return True

    def _rotate(self) -> None:
        # os, not pathlib: the monitor does not import pathlib.
        os.close(self.fd)
        if self.max_files > 1:
            for index in range(self.max_files - 1, 1, -1):
                try:
                    os.replace(f"{self.path}.{index - 1}", f"{self.path}.{index}")  # noqa: PTH105
                except FileNotFoundError:
                    continue
            os.replace(self.path, f"{self.path}.1")  # noqa: PTH105
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
        self.fd = os.open(self.path, flags, 0o640)
        self.size = 0

    def sink(self, stream: str) -> LineSink:
        return LineSink(self, stream)

    def close(self) -> None:
        os.close(self.fd)


class LineSink:
    """One stream of a JsonLogFile: bytes in, one entry per line out (a line keeps its
    newline; a line longer than MAX_LINE, or the rest at the end, is a partial entry)."""

    def __init__(self, log: JsonLogFile, stream: str) -> None:
        self.log = log
        self.stream = stream
        self.pending = b""

    def write(self, data: bytes) -> bool:
        data = self.pending + data
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0 or end - start >= MAX_LINE:
                if len(data) - start < MAX_LINE:
                    break
                end = start + MAX_LINE - 1
            if not self.log.write_entry(self.stream, data[start : end + 1]):
                return False
            start = end + 1
        self.pending = data[start:]
        return True

    def flush(self) -> None:
        if self.pending:
            self.log.write_entry(self.stream, self.pending)
            self.pending = b""


class ContainerLog:
    """Where a container's output goes: nowhere ("none"), the bytes as they came ("raw",
    containers made before json-file), or a json-file log."""

    def __init__(
        self,
        driver: str,
        path: str,
        max_size: int | None = None,
        max_files: int = 1,
        fd: int | None = None,
    ) -> None:
        self.driver = driver
        self.raw_fd: int | None = None
        self.json: JsonLogFile | None = None
        self.sinks: list[LineSink] = []
        if driver == "raw":
            if fd is None:
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
            self.raw_fd = fd
        elif driver == "json-file":
            self.json = JsonLogFile(path, max_size, max_files, fd)

    def targets(self, stream: str) -> list[int | LineSink]:
        """The log's targets for one of the container's streams (stdout, stderr)."""
        if self.raw_fd is not None:
            return [self.raw_fd]
        if self.json is not None:
            sink = self.json.sink(stream)
            self.sinks.append(sink)
            return [sink]
        return []

    def flush(self) -> None:
        """Write out the last partial lines (after the container's output has ended)."""
        for sink in self.sinks:
            sink.flush()

    def describe(self) -> str:
        """One argv word a fresh process rebuilds the log from (its fd made inheritable)."""
        if self.raw_fd is not None:
            os.set_inheritable(self.raw_fd, True)
            return f"raw:{self.raw_fd}"
        if self.json is not None:
            os.set_inheritable(self.json.fd, True)
            size = "" if self.json.max_size is None else str(self.json.max_size)
            return f"json-file:{self.json.fd}:{size}:{self.json.max_files}:{self.json.path}"
        return "none"

    @classmethod
    def from_description(cls, text: str) -> ContainerLog:
        driver, _, rest = text.partition(":")
        if driver == "raw":
            return cls("raw", "", fd=int(rest))
        if driver == "json-file":
            fd, size, files, path = rest.split(":", 3)
            return cls("json-file", path, int(size) if size else None, int(files), int(fd))
        return cls("none", "")
