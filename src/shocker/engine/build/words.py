"""Variable expansion and quote removal in Dockerfile words, as BuildKit's shell lexer does
(frontend/dockerfile/shell/lex.go): `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
`${VAR:+alternate}`, `${VAR+alternate}`, `${VAR:?message}`; single quotes literal, double
quotes expanding, the escape character (`\\`, or `` ` `` after `# escape=`) quoting the next.

Hand-written: the `dockerfile` package exposes BuildKit's parser, not its lexer, and no
maintained Python library implements these rules.
"""

from __future__ import annotations

from shocker.errors import UsageError
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str], escape: str, raw: bool = False) -> None:
        self.text = text
        self.env = env
        self.escape = escape
        self.raw = raw  # quotes are plain characters, escapes kept (here-documents)
        self.at = 0

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def take(self) -> str:
        char = self.peek()
        self.at += 1
        return char

    def word(self, stop: str = "") -> str:
        out: list[str] = []
        while self.at < len(self.text):
            char = self.peek()
            if char in stop:
                break
            self.at += 1
            if char == self.escape:
                out.append(char + self.take() if self.raw else self.take())
            elif self.raw and char in "'\"":
                out.append(char)
            elif char == "'":
                out.append(self._single())
            elif char == '"':
                out.append(self._double())
            elif char == "$":
                out.append(self._variable())
            else:
                out.append(char)
        return "".join(out)

    def _single(self) -> str:
        end = self.text.find("'", self.at)
        if end < 0:
            raise UsageError("unexpected end of statement while looking for matching single-quote")
        value = self.text[self.at : end]
        self.at = end + 1
        return value

    def _double(self) -> str:
        out: list[str] = []
        while True:
            char = self.take()
            if char == "":
                raise UsageError(
                    "unexpected end of statement while looking for matching double-quote"
                )
            if char == '"':
                return "".join(out)
            if char == self.escape and self.peek() in ('"', "$", self.escape):
                out.append(self.take())
            elif char == "$":
                out.append(self._variable())
            else:
                out.append(char)

    def _name(self) -> str:
        start = self.at
        while self.peek() and (self.peek().isalnum() or self.peek() == "_"):
            self.at += 1
        return self.text[start : self.at]

    def _variable(self) -> str:
        if self.peek() != "{":
            name = self._name()
            return self.env.get(name, "") if name else "$"
        self.at += 1
        name = self._name()
        if not name:
            raise UsageError(f"invalid variable reference in '{self.text}'")
        if self.peek() == "}":
            self.at += 1
            return self.env.get(name, "")
        colon = self.peek() == ":"
        if colon:
            self.at += 1
        operator = self.take()
        if operator not in "-+?" or not operator:
            raise UsageError(f"unsupported modifier in '{self.text}'")
        argument = self.word(stop="}")
        if self.take() != "}":
            raise UsageError(f"missing '}}' in '{self.text}'")
        value = self.env.get(name)
        is_set = value is not None and (value != "" or not colon)
        if operator == "-":
            return value if is_set and value is not None else argument
        if operator == "+":
            return argument if is_set else ""
        if not is_set:
            raise UsageError(f"{name}: {argument or 'is not allowed to be unset'}")
        return value or ""


def expand(text: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """One word with its variables replaced and its quotes removed."""
    return _Lexer(text, env, escape).word()


def expand_all(words: tuple[str, ...], env: Mapping[str, str], escape: str = "\\") -> list[str]:
    return [expand(word, env, escape) for word in words]


def expand_raw(text: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """A here-document's text with its variables replaced and nothing else changed: quotes
    are plain characters there (`"it's"` stays), an escaped `$` stays as written."""
    return _Lexer(text, env, escape, raw=True).word()
