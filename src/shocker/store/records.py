"""Helpers shared by the record stores: timestamps, JSON records to record classes, listing."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

from shocker.errors import UsageError
from shocker.record import fields
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, Protocol, TypeVar

    T = TypeVar("T")

    class HasId(Protocol):
        @property
        def id(self) -> str: ...

    R = TypeVar("R", bound=HasId)


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


_HEX = frozenset("0123456789abcdef")


def by_id_prefix(records: Sequence[R], text: str, prefix: str, noun: str) -> R | None:
    """The one record whose id (`prefix-` + hex) starts with `text`, with or without `prefix-`.

    None when nothing matches; UsageError naming the candidates when several do.
    """
    hexpart = text.removeprefix(f"{prefix}-")
    if not hexpart or not set(hexpart) <= _HEX:
        return None
    matches = [r for r in records if r.id.removeprefix(f"{prefix}-").startswith(hexpart)]
    if len(matches) > 1:
        ids = ", ".join(sorted(r.id for r in matches))
        raise UsageError(f"'{text}' matches several {noun}: {ids}")
    return matches[0] if matches else None
