"""Reading and following a container log file."""

from __future__ import annotations

import io
from pathlib import Path

from shocker.runtime.logs import follow, read_all


def test_read_all_copies_the_whole_log(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.write_bytes(b"one\ntwo\x00bytes\n")
    out = io.BytesIO()
    read_all(log, out)
    assert out.getvalue() == b"one\ntwo\x00bytes\n"


def test_read_all_of_a_missing_log_is_empty(tmp_path: Path) -> None:
    out = io.BytesIO()
    read_all(tmp_path / "never-written", out)
    assert out.getvalue() == b""


def test_follow_copies_what_is_appended_until_the_container_stops(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.write_bytes(b"first\n")
    appended = iter([b"second\n", b"third\n"])
    out = io.BytesIO()

    def is_running() -> bool:
        chunk = next(appended, None)
        if chunk is None:
            return False
        with log.open("ab") as f:
            f.write(chunk)
        return True

    follow(log, out, is_running)
    assert out.getvalue() == b"first\nsecond\nthird\n"


def test_follow_of_a_stopped_container_without_a_log_returns(tmp_path: Path) -> None:
    out = io.BytesIO()
    follow(tmp_path / "never-written", out, lambda: False)
    assert out.getvalue() == b""
