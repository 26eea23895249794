"""new_id: prefix + 5 hex digits, never one already taken."""

from __future__ import annotations

import re

import pytest

from shocker.errors import StorageError
from shocker.store.ids import new_id


def test_ids_have_a_prefix_and_five_hex_digits() -> None:
    assert re.fullmatch(r"img-[0-9a-f]{5}", new_id("img", lambda _: False))
    assert re.fullmatch(r"ps-[0-9a-f]{5}", new_id("ps", lambda _: False))


def test_taken_ids_are_skipped() -> None:
    seen: list[str] = []

    def taken(candidate: str) -> bool:
        seen.append(candidate)
        return len(seen) < 5

    result = new_id("ps", taken)
    assert result == seen[-1]
    assert len(seen) == 5


def test_an_exhausted_id_space_is_an_error() -> None:
    with pytest.raises(StorageError, match="cannot allocate"):
        new_id("img", lambda _: True)


def test_ids_are_random() -> None:
    assert len({new_id("img", lambda _: False) for _ in range(50)}) > 40
