"""`ps --filter`: Docker's container filters (status, label, name, ancestor, id).

Docker's rule: values of one key are alternatives (any may match), different keys must all
match; `label` is the exception, every label filter must match.
"""

from __future__ import annotations

from shocker.engine.status import state_name
from shocker.errors import UsageError
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from shocker.store.containers import ContainerRecord

KEYS = ("status", "label", "name", "ancestor", "id")
STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


def parse_filters(texts: Sequence[str]) -> dict[str, list[str]]:
    """`key=value` strings -> key -> values; UsageError for an unknown key or status."""
    filters: dict[str, list[str]] = {}
    for text in texts:
        key, sep, value = text.partition("=")
        key = key.strip().lower()
        if not sep or key not in KEYS:
            raise UsageError(
                f"invalid filter '{text}': use status=, label=, name=, ancestor= or id="
            )
        if key == "status" and value not in STATUSES:
            raise UsageError(f"invalid filter 'status={value}': use one of {', '.join(STATUSES)}")
        filters.setdefault(key, []).append(value)
    return filters


def matches(
    record: ContainerRecord,
    filters: dict[str, list[str]],
    image_ids: Callable[[str], set[str]],
) -> bool:
    """Whether the container passes every filter; image_ids(text) -> the ids `text` names."""
    for key, values in filters.items():
        if key == "label":
            if not all(_has_label(record.labels, value) for value in values):
                return False
        elif not any(_matches_one(record, key, value, image_ids) for value in values):
            return False
    return True


def _has_label(labels: dict[str, str], wanted: str) -> bool:
    key, sep, value = wanted.partition("=")
    return key in labels and (not sep or labels[key] == value)


def _matches_one(
    record: ContainerRecord, key: str, value: str, image_ids: Callable[[str], set[str]]
) -> bool:
    if key == "status":
        return state_name(record) == value
    if key == "name":
        # Docker matches names as a regular expression; a plain substring is the common use.
        import re

        try:
            return bool(record.name and re.search(value, record.name))
        except re.error:
            return bool(record.name and value in record.name)
    if key == "id":
        return record.id.startswith(value) or record.id.removeprefix("ps-").startswith(value)
    return record.image_id in image_ids(value) or value in (
        record.image,
        record.image.rpartition(":")[0] if ":" in record.image.rpartition("/")[2] else "",
    )
