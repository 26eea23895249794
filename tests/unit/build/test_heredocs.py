"""Here-document sources of COPY/ADD: which words they are, and what each file holds."""

from __future__ import annotations

import pytest

from shocker.engine.build.dockerfile import parse
from shocker.engine.build.heredocs import InlineFile, inline_files
from shocker.engine.build.words import expand_raw


def _files(body: str, env: dict[str, str] | None = None) -> dict[int, InlineFile]:
    instruction = parse(f"FROM scratch\n{body}").stages[0].instructions[0]
    return inline_files(instruction, env or {}, "\\")


def test_each_heredoc_word_is_a_file_named_for_its_delimiter() -> None:
    files = _files("COPY <<a plain.txt <<b /dir/\nA\na\nB\nb\n")
    assert files == {0: InlineFile("a", b"A\n"), 2: InlineFile("b", b"B\n")}


def test_unquoted_delimiters_expand_quoted_ones_do_not_and_dash_drops_tabs() -> None:
    assert _files("COPY <<EOF /x\n$V ${V}\nEOF\n", {"V": "v"}) == {0: InlineFile("EOF", b"v v\n")}
    assert _files("COPY <<'EOF' /x\n$V\nEOF\n", {"V": "v"}) == {0: InlineFile("EOF", b"$V\n")}
    assert _files('COPY <<"EOF" /x\n$V\nEOF\n', {"V": "v"}) == {0: InlineFile("EOF", b"$V\n")}
    assert _files("COPY <<-EOF /x\n\t\tin\n\tEOF\n") == {0: InlineFile("EOF", b"in\n")}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("it's $V", "it's v"),
        ("\"$V\" '$V'", "\"v\" 'v'"),
        ("\\$V", "\\$V"),
        ("${MISSING:-d}", "d"),
    ],
)
def test_expand_raw_keeps_quotes_and_escapes(text: str, expected: str) -> None:
    assert expand_raw(text, {"V": "v"}) == expected
