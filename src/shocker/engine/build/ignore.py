"""`.dockerignore` with Docker's rules (moby/patternmatcher): patterns relative to the context
root (a leading `/` means the same), `*` `?` `[...]` within one path element, `**` across
any number, `!` for exceptions, the last matching pattern deciding, and a path excluded when
its parent directory is. Hand-written: no maintained Python library follows these rules.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Pattern:
    regex: re.Pattern[str]
    exception: bool
    text: str


def glob_regex(pattern: str) -> str:
    """A regular expression for one cleaned pattern (Go's filepath.Match plus `**`)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            if pattern[i : i + 2] == "**":
                i += 2
                if pattern[i : i + 1] == "/":
                    out.append("(?:.*/)?")  # `**/` also matches no directory at all
                    i += 1
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "^") else i + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
                i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def parse_patterns(text: str) -> list[Pattern]:
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        if exception:
            line = line[1:].strip()
        cleaned = posixpath.normpath(line).lstrip("/")
        if not cleaned or cleaned == ".":
            continue
        patterns.append(Pattern(re.compile(glob_regex(cleaned) + r"\Z"), exception, line))
    return patterns


class Ignore:
    """Which relative paths of a context `.dockerignore` leaves out."""

    def __init__(self, patterns: list[Pattern]) -> None:
        self.patterns = patterns

    @classmethod
    def from_text(cls, text: str) -> Ignore:
        return cls(parse_patterns(text))

    def excludes(self, path: str) -> bool:
        """`path` relative to the context root, `/`-separated."""
        if not self.patterns:
            return False
        parents = _parents(path)
        excluded = False
        for pattern in self.patterns:
            if any(pattern.regex.match(candidate) for candidate in parents):
                excluded = not pattern.exception
        return excluded

    def may_hold_kept(self, directory: str) -> bool:
        """Whether an excluded directory may still hold a re-included path (a later `!`
        pattern that could match below it): then it must be walked."""
        prefix = directory + "/"
        return any(
            p.exception and (p.text.lstrip("/").startswith(prefix) or "*" in p.text)
            for p in self.patterns
        )


def _parents(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]
