"""Light records behave as the dataclasses they replace."""

from __future__ import annotations

from datetime import datetime

import pytest

from shocker.engine.create import now
from shocker.record import FrozenInstanceError, asdict, field, fields, record, replace


@record(frozen=True)
class Point:
    x: int
    y: int = 0


@record()
class Bag:
    name: str
    items: list[Point] = field(default_factory=list)


@record(frozen=True, kw_only=True)
class Named:
    label: str

    def __post_init__(self) -> None:
        if not self.label:
            raise ValueError("empty label")


def test_positional_keyword_and_default_arguments_fill_the_fields_in_order() -> None:
    assert fields(Point) == ("x", "y")
    assert Point(1, 2) == Point(x=1, y=2)
    assert Point(3).y == 0
    assert repr(Point(1, 2)) == "Point(x=1, y=2)"


def test_a_frozen_record_refuses_assignment_and_hashes_by_value() -> None:
    point = Point(1, 2)
    with pytest.raises(FrozenInstanceError):
        point.x = 5  # type: ignore[misc]
    assert hash(point) == hash(Point(1, 2))
    assert len({point, Point(1, 2), Point(2, 1)}) == 2


def test_a_mutable_record_is_unhashable_and_gets_a_fresh_default_per_instance() -> None:
    first, second = Bag("a"), Bag("b")
    first.items.append(Point(1))
    assert second.items == []
    with pytest.raises(TypeError):
        hash(first)


def test_missing_extra_and_positional_keyword_only_arguments_are_type_errors() -> None:
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, z=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Named("x")  # type: ignore[call-arg]


def test_asdict_converts_records_nested_in_lists() -> None:
    bag = Bag("a", [Point(1, 2)])
    assert asdict(bag) == {"name": "a", "items": [{"x": 1, "y": 2}]}


def test_replace_copies_with_changes_and_checks_again() -> None:
    assert replace(Point(1, 2), y=7) == Point(1, 7)
    with pytest.raises(ValueError):
        replace(Named(label="a"), label="")


def test_creation_times_read_back_as_aware_utc_datetimes() -> None:
    stamp = now()
    parsed = datetime.fromisoformat(stamp)
    assert parsed.utcoffset() is not None
    assert parsed.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert parsed.isoformat() == stamp
