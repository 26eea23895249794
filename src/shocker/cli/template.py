"""`--format`: the part of Go's text/template that Docker users type.

`{{.Field}}`, `{{.Label "key"}}`, `{{json .}}`, `{{json .Field}}`, `{{upper .F}}`,
`{{lower .F}}`, and a leading `table` for aligned columns under a header, as the Docker CLI
(`\\t` and `\\n` typed literally stand for a tab and a newline, as there).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from shocker.errors import UsageError

_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")
_CALL = re.compile(r'^(?:(json|upper|lower|title)\s+)?\.(\w*)(?:\s+"([^"]*)")?$')


class Template:
    """A parsed format: call `render(row)` with the row's fields (a mapping)."""

    def __init__(self, text: str, headers: Mapping[str, str], fields: Sequence[str]) -> None:
        self.is_table = text.startswith("table")
        body = text[len("table") :].lstrip() if self.is_table else text
        body = body.replace("\\t", "\t").replace("\\n", "\n")
        self.parts: list[str | tuple[str, str, str | None]] = []
        position = 0
        for match in _ACTION.finditer(body):
            self.parts.append(body[position : match.start()])
            call = _CALL.match(match.group(1))
            if call is None or (call.group(2) and call.group(2) not in fields):
                raise UsageError(
                    f"invalid --format action '{match.group(0)}': "
                    f"use {{{{.Field}}}} with one of {', '.join(fields)}"
                )
            self.parts.append((call.group(1) or "", call.group(2), call.group(3)))
            position = match.end()
        self.parts.append(body[position:])
        self.headers = headers

    def render(self, row: Mapping[str, object]) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            function, name, argument = part
            value: object = row if not name else row.get(name, "")
            if name == "Label" and argument is not None:
                labels = row.get("Labels", {})
                value = labels.get(argument, "") if isinstance(labels, dict) else ""
            out.append(_apply(function, value))
        return "".join(out)

    def header(self) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                out.append(self.headers.get(part[1], part[1].upper()))
        return "".join(out)


def _apply(function: str, value: object) -> str:
    if function == "json":
        return json.dumps(value, separators=(",", ":"))
    text = _text(value)
    if function == "upper":
        return text.upper()
    if function == "lower":
        return text.lower()
    if function == "title":
        return text.title()
    return text


def _text(value: object) -> str:
    if isinstance(value, dict):
        # Docker prints a map field as `k=v,k=v` (its Labels field does so).
        return ",".join(f"{k}={v}" for k, v in sorted(value.items()))
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def render_all(template: Template, rows: Sequence[Mapping[str, object]]) -> str:
    """Every row; with `table`, a header and columns aligned as Docker's tabwriter does
    (cells padded to 3 spaces past the widest, at least 10 wide)."""
    lines = [template.render(row) for row in rows]
    if not template.is_table:
        return "".join(line + "\n" for line in lines)
    text = "\n".join([template.header(), *lines])
    return align(text.split("\n")) + "\n"


def align(lines: Sequence[str]) -> str:
    cells = [line.split("\t") for line in lines]
    widths: dict[int, int] = {}
    for row in cells:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths.get(i, 0), len(cell) + 3, 10)
    return "\n".join(
        "".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + row[-1] for row in cells
    )
