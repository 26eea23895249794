"""`ps --filter`: Docker's rules for combining filters."""

from __future__ import annotations

import pytest

from shocker.engine.filters import matches, parse_filters
from shocker.errors import UsageError
from shocker.store.containers import ContainerRecord, Status


def container(name: str, labels: dict[str, str], image: str = "busybox:latest") -> ContainerRecord:
    return ContainerRecord(
        id=f"ps-{name[:5]:0<5}",
        name=name,
        image_id="img-aaaaa",
        image=image,
        command=["sleep"],
        created="2026-01-01T00:00:00+00:00",
        state=Status.EXITED,
        labels=labels,
    )


def ids(text: str) -> set[str]:
    return {"img-aaaaa"} if text in ("img-aaaaa", "busybox") else set()


def check(record: ContainerRecord, *filters: str) -> bool:
    return matches(record, parse_filters(list(filters)), ids)


def test_different_keys_must_all_match() -> None:
    web = container("web", {"tier": "front"})
    assert check(web, "label=tier=front", "name=web", "status=exited")
    assert not check(web, "label=tier=front", "status=running")


def test_values_of_one_key_are_alternatives_but_labels_all_apply() -> None:
    web = container("web", {"tier": "front", "team": "a"})
    assert check(web, "name=db", "name=web")
    assert check(web, "label=tier", "label=team=a")
    assert not check(web, "label=tier", "label=team=b")


def test_ancestor_matches_the_image_by_id_or_name() -> None:
    web = container("web", {})
    assert check(web, "ancestor=busybox")
    assert check(web, "ancestor=img-aaaaa")
    assert check(web, "ancestor=busybox:latest")
    assert not check(web, "ancestor=alpine")


@pytest.mark.parametrize("text", ["colour=red", "status=sleeping", "label"])
def test_unknown_keys_and_states_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="invalid filter"):
        parse_filters([text])
