"""`--log-driver` and `--log-opt`: validated as Docker validates them (json-file's max-size
and max-file; the none driver takes no option)."""

from __future__ import annotations

import re

from shocker.errors import UsageError
from shocker.store.container_config import LogConfig

DRIVERS = ("json-file", "none")
# Docker's units.RAMInBytes: powers of 1024, an optional i and b.
# Compiled on first use, not at import (see shocker.store.containers).
_SIZE = r"(\d+(?:\.\d+)?) ?([kmgtp])?i?b?"
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50}


def parse_log_config(driver: str | None, options: list[str]) -> LogConfig:
    """Raises UsageError naming the driver or option that is wrong."""
    name = driver or "json-file"
    if name not in DRIVERS:
        raise UsageError(f"unknown log driver '{name}': use json-file or none")
    values: dict[str, str] = {}
    for option in options:
        key, equals, value = option.partition("=")
        if not equals:
            raise UsageError(f"invalid --log-opt '{option}': use KEY=VALUE")
        if name != "json-file" or key not in ("max-size", "max-file"):
            raise UsageError(f"unknown log opt '{key}' for {name} log driver")
        values[key] = value
    max_size = None
    if "max-size" in values:
        max_size = parse_size(values["max-size"])
    max_files = 1
    if "max-file" in values:
        text = values["max-file"]
        if not text.isdigit() or int(text) < 1:
            raise UsageError(f"invalid max-file '{text}': use a whole number of at least 1")
        max_files = int(text)
        if max_files > 1 and max_size is None:
            raise UsageError("max-file is only used with max-size: give --log-opt max-size too")
    return LogConfig(name, max_size, max_files)


def parse_size(text: str) -> int:
    match = re.fullmatch(_SIZE, text.strip(), re.IGNORECASE)
    if not match:
        raise UsageError(f"invalid max-size '{text}': use a size such as 10m or 512k")
    value = int(float(match.group(1)) * _UNITS[(match.group(2) or "").lower()])
    if value <= 0:
        raise UsageError(f"invalid max-size '{text}': it must be more than 0")
    return value
