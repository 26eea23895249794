"""JSON for the commands that start on every container (`run`, `exec`, `ps`; shocker-runtime
start, state, kill, delete): the standard library's C parser and printer (`_json`) without
the `json` package.

`import json` costs 7.4 ms of CPU (python -I -S on this project's 2-core machine) because
json.decoder and json.scanner import re, and re imports enum; `_json` alone costs nothing
measurable. The documents read here are shocker's own files (the store's records, the
runtime's state); anything the C parser rejects raises ValueError, as json.loads does.
"""

from __future__ import annotations

import _json

from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

_WHITESPACE = " \t\n\r"


class _Options:
    """What the C scanner reads from its context: json.loads's defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> float:
        return float(name)  # NaN, Infinity, -Infinity


_scan: Callable[[str, int], tuple[object, int]] = _json.make_scanner(_Options())  # type: ignore[arg-type]


def loads(text: str | bytes) -> object:
    """json.loads for str or UTF-8 bytes."""
    if isinstance(text, bytes):
        text = text.decode()
    text = text.strip(_WHITESPACE)
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        raise ValueError("Expecting value: line 1 column 1 (char 0)") from None
    if end != len(text):
        raise ValueError(f"Extra data at char {end}")
    return value


def dumps(
    value: object,
    *,
    indent: int | None = None,
    sort_keys: bool = False,
    separators: tuple[str, str] | None = None,
) -> str:
    """json.dumps for what JSON holds (dict with str keys, list, tuple, str, int, float,
    bool, None); with `indent`, one member per line as json.dumps(indent=N) prints;
    `sort_keys` and `separators` (item, key) as json.dumps takes them."""
    if indent is None:
        item, key = separators or (", ", ": ")
        return "".join(_make_encoder(key, item, sort_keys)(value, 0))
    return _indented(value, " " * indent, "", _make_encoder(": ", ", ", sort_keys), sort_keys)


def _indented(
    value: object, step: str, margin: str, flat: Callable[[object, int], list[str]], sort: bool
) -> str:
    inner = margin + step
    if isinstance(value, dict) and value:
        pairs = sorted(value.items()) if sort else value.items()
        members = (
            f"{inner}{_string(key)}: {_indented(item, step, inner, flat, sort)}"
            for key, item in pairs
        )
        return "{\n" + ",\n".join(members) + f"\n{margin}}}"
    if isinstance(value, (list, tuple)) and value:
        items = (f"{inner}{_indented(item, step, inner, flat, sort)}" for item in value)
        return "[\n" + ",\n".join(items) + f"\n{margin}]"
    return "".join(flat(value, 0))


def _unserialisable(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_string: Callable[[str], str] = _json.encode_basestring_ascii


def _make_encoder(key: str, item: str, sort_keys: bool) -> Callable[[object, int], list[str]]:
    # (markers, default, encoder, indent, key_separator, item_separator, sort_keys, skipkeys,
    # allow_nan): json.dumps's defaults but for the separators and the key order.
    encoder: Callable[[object, int], list[str]] = _json.make_encoder(
        {}, _unserialisable, _string, None, key, item, sort_keys, False, True
    )
    return encoder
