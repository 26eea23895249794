"""The json-file writer: Docker's entries, line framing and rotation; the reader's times."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shocker.engine.logoptions import parse_log_config
from shocker.errors import UsageError
from shocker.runtime.logfile import MAX_LINE, JsonLogFile, json_string, rfc3339
from shocker.runtime.logs import parse_moment, parse_time, read_entries
from shocker.store.container_config import LogConfig


def entries(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("text", ["plain", 'q"uote\\', "\x00\x1f\t\r\n", "é ☃ \u2028"])
def test_json_string_is_what_json_reads_back(text: str) -> None:
    assert json.loads(json_string(text)) == text


def test_lines_become_entries_and_a_partial_line_waits(tmp_path: Path) -> None:
    path = tmp_path / "log"
    log = JsonLogFile(str(path), None, 1)
    out = log.sink("stdout")
    out.write(b"one\ntw")
    out.write(b"o\nthr")
    assert [e["log"] for e in entries(path)] == ["one\n", "two\n"]
    out.flush()
    assert [e["log"] for e in entries(path)] == ["one\n", "two\n", "thr"]
    assert {e["stream"] for e in entries(path)} == {"stdout"}


def test_a_long_line_is_split_at_docker_buffer_size(tmp_path: Path) -> None:
    path = tmp_path / "log"
    sink = JsonLogFile(str(path), None, 1).sink("stderr")
    sink.write(b"x" * (MAX_LINE * 2 + 5) + b"\n")
    assert [len(e["log"]) for e in entries(path)] == [MAX_LINE, MAX_LINE, 6]


def test_rotation_keeps_max_files_and_rotates_before_the_entry_that_finds_it_full(
    tmp_path: Path,
) -> None:
    path = tmp_path / "log"
    log = JsonLogFile(str(path), 100, 3)
    for number in range(20):
        log.write_entry("stdout", f"{number}\n".encode(), clock=lambda: 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log", "log.1", "log.2"]
    logged = [int(e.data) for e in read_entries(path)]
    assert logged == list(range(logged[0], 20))
    assert all((tmp_path / n).stat().st_size < 100 + 80 for n in ("log", "log.1", "log.2"))


def test_times_round_trip_with_nanoseconds() -> None:
    ns = 1_764_767_575_123_456_789
    assert rfc3339(ns) == "2025-12-03T13:12:55.123456789Z"
    assert parse_time(rfc3339(ns)) == ns
    assert parse_time("2025-12-03T14:12:55.5+01:00") == 1_764_767_575_500_000_000


def test_since_takes_durations_unix_times_and_dates() -> None:
    now = 1_000_000 * 10**9
    assert parse_moment("60s", now) == now - 60 * 10**9
    assert parse_moment("1h30m", now) == now - 5400 * 10**9
    assert parse_moment("1700000000.25", now) == 1_700_000_000_250_000_000
    assert parse_moment("2025-12-03T13:12:55Z", now) == 1_764_767_575 * 10**9
    for bad in ("yesterday", "5 minutes", ""):
        with pytest.raises(ValueError):
            parse_moment(bad, now)


def test_log_options_follow_docker_rules() -> None:
    assert parse_log_config(None, []) == LogConfig("json-file", None, 1)
    assert parse_log_config("json-file", ["max-size=10m", "max-file=3"]) == LogConfig(
        "json-file", 10 * 2**20, 3
    )
    assert parse_log_config("none", []) == LogConfig("none", None, 1)
    for driver, options in (
        ("syslog", []),
        ("none", ["max-size=1m"]),
        (None, ["max-file=2"]),
        (None, ["max-size=0"]),
        (None, ["max-file=x", "max-size=1k"]),
        (None, ["mode=fast"]),
    ):
        with pytest.raises(UsageError):
            parse_log_config(driver, options)
