"""Dockerfile word expansion and quote removal, as BuildKit's shell lexer does it."""

from __future__ import annotations

import pytest

from shocker.engine.build.words import expand
from shocker.errors import UsageError

ENV = {"A": "one", "EMPTY": "", "PATH": "/bin"}


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("$A", "one"),
        ("${A}x", "onex"),
        ("$MISSING-", "-"),
        ("${MISSING:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${EMPTY-fallback}", ""),
        ("${A:+alt}", "alt"),
        ("${MISSING:+alt}", ""),
        ("'$A'", "$A"),
        ('"$A b"', "one b"),
        ('"quoted \\"inner\\""', 'quoted "inner"'),
        ("\\$A", "$A"),
        ("a\\ b", "a b"),
        ("${PATH}:/usr/bin", "/bin:/usr/bin"),
        ("$", "$"),
        ("cost$", "cost$"),
    ],
)
def test_expand_replaces_variables_and_removes_quotes(word: str, expected: str) -> None:
    assert expand(word, ENV) == expected


def test_the_escape_directive_changes_the_escape_character() -> None:
    assert expand("C:\\dir`$A", ENV, escape="`") == "C:\\dir$A"


@pytest.mark.parametrize("word", ["'open", '"open', "${A", "${MISSING:?must be set}"])
def test_malformed_words_and_required_variables_are_refused(word: str) -> None:
    with pytest.raises(UsageError):
        expand(word, ENV)
