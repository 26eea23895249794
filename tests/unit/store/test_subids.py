"""Subordinate id ranges for --userns=auto: parsing subuid(5), choosing the owner, the
lowest free range, `shocker setup`'s entry, and allocations under SHOCKER_ROOT."""

from __future__ import annotations

from pathlib import Path

import pytest

from shocker.engine.create import userns_size
from shocker.engine.options import RunOptions
from shocker.errors import UsageError
from shocker.settings import Settings
from shocker.store.layout import Layout
from shocker.store.subids import (
    DEFAULT_SIZE,
    FIRST_ID,
    SETUP_COUNT,
    IdAllocation,
    NoSubordinateIds,
    SubIdRange,
    SubIds,
    add_setup_entries,
    first_free,
    parse,
    release,
    setup_entry,
    usable,
)


def test_parse_skips_comments_and_malformed_lines() -> None:
    text = "# c\n\ncontainers:200000:65536\nbad line\nx:1:zero\ncontainers:400000:10\nz:5:0\n"
    assert parse(text) == {
        "containers": [SubIdRange(200000, 65536), SubIdRange(400000, 10)],
    }


def test_containers_wins_over_shocker_and_low_ids_are_clipped() -> None:
    ranges = parse("shocker:500000:65536\ncontainers:90000:20000\n")
    assert usable(ranges) == ("containers", [SubIdRange(FIRST_ID, 10000)])
    assert usable(parse("shocker:500000:65536\n")) == ("shocker", [SubIdRange(500000, 65536)])
    assert usable(parse("containers:1000:5000\nalice:100000:65536\n")) is None


def test_first_free_takes_the_lowest_gap_that_fits() -> None:
    spans = [SubIdRange(100000, 300000)]
    assert first_free(spans, [], 65536) == 100000
    taken = [SubIdRange(100000, 65536), SubIdRange(200000, 65536)]
    assert first_free(spans, taken, 30000) == 165536
    assert first_free(spans, taken, 65536) == 265536
    assert first_free(spans, taken, 200000) is None
    # A later range when the first is full.
    assert first_free([SubIdRange(100000, 1000), SubIdRange(900000, 70000)], [], 65536) == 900000


def test_setup_entry_starts_past_every_entry_and_only_when_needed() -> None:
    assert setup_entry(["", ""]) == f"shocker:{FIRST_ID}:{SETUP_COUNT}\n"
    assert setup_entry(["alice:100000:65536\n", "bob:300000:10\n"]) == (
        f"shocker:300010:{SETUP_COUNT}\n"
    )
    ready = "containers:200000:65536\n"
    assert setup_entry([ready, ready]) is None
    assert setup_entry([ready, ""]) is not None  # both files must have one


def test_add_setup_entries_appends_once(tmp_path: Path) -> None:
    subuid, subgid = tmp_path / "subuid", tmp_path / "subgid"
    subuid.write_text("alice:100000:65536")  # no final newline
    said: list[str] = []
    add_setup_entries(subuid, subgid, said.append)
    entry = f"shocker:165536:{SETUP_COUNT}\n"
    assert subuid.read_text() == "alice:100000:65536\n" + entry
    assert subgid.read_text() == entry
    add_setup_entries(subuid, subgid, said.append)
    assert subgid.read_text() == entry
    assert said[0].startswith("Added to") and "already" in said[1]


def test_allocations_never_overlap_drop_dead_containers_and_are_released(
    tmp_path: Path,
) -> None:
    (tmp_path / "subuid").write_text("containers:200000:131072\n")
    (tmp_path / "subgid").write_text("containers:500000:131072\n")
    layout = Layout(tmp_path)
    ids = SubIds(layout, tmp_path / "subuid", tmp_path / "subgid")
    live = {"ps-a", "ps-b"}
    a = ids.allocate("ps-a", DEFAULT_SIZE, live.__contains__)
    b = ids.allocate("ps-b", DEFAULT_SIZE, live.__contains__)
    assert a == IdAllocation(200000, 500000, DEFAULT_SIZE)
    assert b == IdAllocation(265536, 565536, DEFAULT_SIZE)
    with pytest.raises(NoSubordinateIds, match="no free range of 65536"):
        ids.allocate("ps-c", DEFAULT_SIZE, live.__contains__)
    # ps-a is gone without a release (a crash): its range is taken back.
    live.discard("ps-a")
    assert ids.allocate("ps-c", 1024, lambda cid: cid != "ps-a").uid == 200000
    release(layout, "ps-b")
    assert set(ids.allocations()) == {"ps-c"}
    release(layout, "ps-none")


def test_no_usable_entry_names_the_file_and_setup(tmp_path: Path) -> None:
    (tmp_path / "subuid").write_text("alice:100000:65536\n")
    ids = SubIds(Layout(tmp_path), tmp_path / "subuid", tmp_path / "missing")
    with pytest.raises(NoSubordinateIds, match="no subordinate ids") as caught:
        ids.allocate("ps-a", DEFAULT_SIZE, lambda _: True)
    assert str(tmp_path / "subuid") in caught.value.message
    assert "shocker setup" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("flag", "env", "expected"),
    [
        (None, "host", None),
        (None, "auto", DEFAULT_SIZE),
        ("host", "auto", None),
        ("auto", "host", DEFAULT_SIZE),
        ("auto:size=1024", "host", 1024),
    ],
)
def test_userns_mode_flag_wins_over_the_default(
    flag: str | None, env: str, expected: int | None
) -> None:
    options = RunOptions(image="x", userns=flag)
    assert userns_size(options, Settings(userns=env)) == expected


@pytest.mark.parametrize("flag", ["bogus", "auto:size=1023", "auto:size=x", "auto:big=2048"])
def test_bad_userns_modes_name_themselves(flag: str) -> None:
    with pytest.raises(UsageError, match=flag):
        userns_size(RunOptions(image="x", userns=flag), Settings())


def test_the_default_yields_to_privileged_but_an_explicit_auto_does_not() -> None:
    assert userns_size(RunOptions(image="x", privileged=True), Settings(userns="auto")) is None
    with pytest.raises(UsageError, match="--privileged"):
        userns_size(RunOptions(image="x", userns="auto", privileged=True), Settings())


def test_shocker_userns_is_checked_when_read() -> None:
    with pytest.raises(UsageError, match="sometimes"):
        Settings.from_env({"SHOCKER_USERNS": "sometimes"})
    assert Settings.from_env({"SHOCKER_USERNS": "auto"}).userns == "auto"
