"""Helpers shared by the record stores: timestamps, JSON records to record classes, listing."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

from shocker.record import fields
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, TypeVar

    T = TypeVar("T")


def now() -> str:
    """The current UTC time in RFC 3339 with microseconds (sorts as text)."""
    moment = time.time()
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment))
    return f"{whole}.{int(moment % 1 * 1_000_000):06d}Z"


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build record class `cls` from `data`, ignoring keys it does not know (newer versions)."""
    known = set(fields(cls))
    return cls(**{key: value for key, value in data.items() if key in known})


def record_files(directory: Path, suffix: str = ".json") -> Iterator[Path]:
    """Committed record files in `directory` (temporary ones start with a dot)."""
    try:
        entries = os.scandir(directory)
    except FileNotFoundError:
        return
    with entries:
        for entry in entries:
            if not entry.name.startswith(".") and entry.name.endswith(suffix):
                yield Path(entry.path)
