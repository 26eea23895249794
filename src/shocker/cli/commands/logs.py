"""`shocker logs [-f] [--tail N] [-t] [--since T] [--until T] CONTAINER`: what the
container printed (kept after it exits); its stderr goes to stderr, as Docker's does."""

from __future__ import annotations

import argparse

from shocker.settings import Settings
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from shocker.runtime.logs import LogEntry


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("-f", "--follow", action="store_true", help="follow until the container exits")
    add("-n", "--tail", default="all", help="only the last N lines (default all)")
    add("-t", "--timestamps", action="store_true", help="prefix each line with its time")
    add("--since", help="lines since a time (RFC 3339, Unix time) or a duration (60s, 2m)")
    add("--until", help="lines before a time (RFC 3339, Unix time) or a duration (60s, 2m)")
    add("container")


def run(args: argparse.Namespace, settings: Settings) -> int:
    import sys
    import time

    from shocker.cli.context import open_store
    from shocker.engine.status import is_running
    from shocker.errors import UsageError
    from shocker.runtime import logs
    from shocker.runtime.logfile import rfc3339

    tail = _tail(args.tail)
    now_ns = time.time_ns()
    since = _moment("--since", args.since, now_ns)
    until = _moment("--until", args.until, now_ns)
    store = open_store(settings, "logs")
    record = store.containers.resolve(args.container)
    log = record.config.log
    if log.driver == "none":
        raise UsageError(f"container {record.id} was run with --log-driver none: it keeps no logs")

    def running() -> bool:
        try:
            return is_running(store.containers.get(record.id))
        except Exception:
            return False

    path = store.containers.log_path(record.id, log.driver)
    if log.driver == "raw":
        if args.timestamps or since is not None or until is not None:
            raise UsageError(
                f"container {record.id} logs raw output without times:"
                " -t, --since and --until need a json-file log"
            )
        _raw(path, args.follow, tail, running)
        return 0
    streams = {"stdout": sys.stdout.buffer, "stderr": sys.stderr.buffer}
    first = [True]

    def deliver(entries: list[LogEntry]) -> bool:
        if first[0] and tail is not None:
            entries = entries[len(entries) - tail :] if tail else []
        first[0] = False
        for entry in entries:
            if since is not None and entry.time_ns < since:
                continue
            if until is not None and entry.time_ns > until:
                return False
            out = streams.get(entry.stream, streams["stdout"])
            if args.timestamps:
                out.write(rfc3339(entry.time_ns).encode() + b" ")
            out.write(entry.data)
        for out in streams.values():
            out.flush()
        return until is None or time.time_ns() <= until

    if args.follow:
        logs.follow_entries(path, running, deliver)
    else:
        deliver(logs.read_entries(path))
    return 0


def _raw(path: Path, follow: bool, tail: int | None, running: Callable[[], bool]) -> None:
    """A log of raw bytes (containers made before json-file logs): all of it, or its tail."""
    import sys

    from shocker.runtime import logs

    out = sys.stdout.buffer
    if tail is not None:
        try:
            lines = path.read_bytes().splitlines(keepends=True)
        except FileNotFoundError:
            lines = []
        out.write(b"".join(lines[len(lines) - tail :] if tail else []))
        out.flush()
        if not follow:
            return
    if follow:
        logs.follow(path, out, running, skip_existing=tail is not None)
    else:
        logs.read_all(path, out)
    out.flush()


def _tail(text: str) -> int | None:
    from shocker.errors import UsageError

    if text == "all":
        return None
    if not text.isdigit():
        raise UsageError(f"invalid --tail '{text}': use a number of lines or all")
    return int(text)


def _moment(flag: str, text: str | None, now_ns: int) -> int | None:
    from shocker.errors import UsageError
    from shocker.runtime.logs import parse_moment

    if text is None:
        return None
    try:
        return parse_moment(text, now_ns)
    except ValueError:
        raise UsageError(
            f"invalid {flag} '{text}': use an RFC 3339 time, a Unix time or a duration (60s, 2m)"
        ) from None
