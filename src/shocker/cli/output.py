"""Plain text output that scripts parse: tables, relative times, sizes."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from datetime import datetime


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Left-aligned columns separated by two spaces (the last column is never padded)."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths[i], len(cell))
    out = []
    for row in [list(headers), *rows]:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        out.append("  ".join([*cells, row[-1]]).rstrip())
    sys.stdout.write("\n".join(out) + "\n")


def parse_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def ago(text: str | None, now: float | None = None) -> str:
    """`3 seconds ago`, `5 minutes ago`, as Docker prints."""
    return f"{duration(text, now)} ago"


def duration(text: str | None, now: float | None = None) -> str:
    then = parse_time(text)
    if then is None:
        return "a while"
    seconds = max(0, int((now or time.time()) - then))
    if seconds < 1:
        return "Less than a second"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return "About an hour" if unit == "hour" and count == 1 else _plural(count, unit)
    return _plural(seconds, "second")


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def human_size(size: int, precision: int = 3) -> str:
    """Decimal units as Docker prints sizes (`212B`, `16.43MB` with precision 4)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000:
            return f"{value:.{precision}g}{unit}"
        value /= 1000
    return f"{value:.{precision}g}TB"
