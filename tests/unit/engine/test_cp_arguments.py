"""How `cp` tells a container path from a host path (the Docker CLI's rule)."""

from __future__ import annotations

import pytest

from shocker.engine.cp import split_argument


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("web:/etc/hosts", ("web", "/etc/hosts")),
        ("ps-58122:relative", ("ps-58122", "relative")),
        ("/abs/with:colon", (None, "/abs/with:colon")),
        ("./local:file", (None, "./local:file")),
        ("plain", (None, "plain")),
        ("-", (None, "-")),
    ],
)
def test_split_argument(text: str, expected: tuple[str | None, str]) -> None:
    assert split_argument(text) == expected
