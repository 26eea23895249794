"""Log drivers and `logs` options through the CLI, checked against the log files written."""

from __future__ import annotations

import datetime
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

from tests.integration.containers.conftest import last_container, wait_until
from tests.support.shocker import Shocker

STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z ")


def metadata(shocker: Shocker, container_id: str) -> Path:
    return shocker.root / ".shocker" / "containers" / container_id


def run_to_end(shocker: Shocker, containers: list[str], *args: str) -> str:
    result = shocker("run", "-d", *args).check()
    container_id = last_container(result)
    containers.append(container_id)
    shocker("wait", container_id).check()
    return container_id


def test_json_file_is_the_default_with_one_json_object_a_line(
    shocker: Shocker, busybox_id: str, containers: list[str]
) -> None:
    container_id = run_to_end(
        shocker, containers, busybox_id, "sh", "-c", 'echo out; echo "q\\"t" >&2; printf tail'
    )
    log = metadata(shocker, container_id) / "container-json.log"
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["stream"], e["log"]) for e in entries] == [
        ("stdout", "out\n"),
        ("stderr", 'q"t\n'),
        ("stdout", "tail"),
    ]
    for entry in entries:
        moment = datetime.datetime.fromisoformat(entry["time"])
        assert abs(moment.timestamp() - time.time()) < 300
    result = shocker("logs", container_id).check()
    assert result.out == "out\ntail"
    assert result.err == 'q"t\n'


def test_log_driver_none_keeps_nothing_and_logs_says_so(
    shocker: Shocker, busybox_id: str, containers: list[str]
) -> None:
    container_id = run_to_end(shocker, containers, "--log-driver", "none", busybox_id, "echo", "x")
    assert not list(metadata(shocker, container_id).glob("container*.log*"))
    result = shocker("logs", container_id)
    assert result.rc != 0
    assert "none" in result.err and len(result.err.strip().splitlines()) == 1


def test_foreground_run_still_prints_with_a_log_driver(
    shocker: Shocker, busybox_id: str, containers: list[str]
) -> None:
    result = shocker("run", "--name", "fg-none", "--log-driver", "none", busybox_id, "echo", "hi")
    containers.append("fg-none")
    assert result.check().out == "hi\n"


def test_max_size_rotates_into_max_file_files(
    shocker: Shocker, busybox_id: str, containers: list[str]
) -> None:
    script = "i=0; while [ $i -lt 400 ]; do echo line-$i; i=$((i+1)); done"
    container_id = run_to_end(
        shocker,
        containers,
        "--log-opt",
        "max-size=2k",
        "--log-opt",
        "max-file=3",
        busybox_id,
        "sh",
        "-c",
        script,
    )
    directory = metadata(shocker, container_id)
    files = sorted(p.name for p in directory.glob("container-json.log*"))
    assert files == ["container-json.log", "container-json.log.1", "container-json.log.2"]
    for name in files:
        # Docker rotates before the entry that finds the file full: one entry past max-size.
        assert (directory / name).stat().st_size < 2048 + 200
    lines = shocker("logs", container_id).check().out.splitlines()
    assert lines[-1] == "line-399"
    numbers = [int(line.split("-")[1]) for line in lines]
    assert numbers == list(range(numbers[0], 400))  # contiguous: the oldest files dropped
    assert numbers[0] > 0


def test_max_size_with_one_file_starts_the_log_again(
    shocker: Shocker, busybox_id: str, containers: list[str]
) -> None:
    script = "i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done"
    container_id = run_to_end(
        shocker, containers, "--log-opt", "max-size=1k", busybox_id, "sh", "-c", script
    )
    directory = metadata(shocker, container_id)
    assert [p.name for p in directory.glob("container-json.log*")] == ["container-json.log"]
    assert (directory / "container-json.log").stat().st_size < 1024 + 200
    assert shocker("logs", container_id).check().out.splitlines()[-1] == "line-299"


def test_bad_log_options_are_one_line_usage_errors(shocker: Shocker, busybox_id: str) -> None:
    before = set(shocker("ps", "-q").check().lines)
    for args in (
        ("--log-driver", "syslog"),
        ("--log-opt", "max-size=lots"),
        ("--log-opt", "max-file=0"),
        ("--log-opt", "colour=blue"),
        ("--log-driver", "none", "--log-opt", "max-size=1m"),
    ):
        result = shocker("run", *args, busybox_id, "true")
        assert result.rc == 125, result
        assert len(result.err.strip().splitlines()) == 1, result
        assert "Traceback" not in result.err
    assert set(shocker("ps", "-q").check().lines) == before


def test_tail_and_timestamps(shocker: Shocker, busybox_id: str, containers: list[str]) -> None:
    container_id = run_to_end(shocker, containers, busybox_id, "sh", "-c", "seq 1 10")
    assert shocker("logs", "--tail", "3", container_id).check().out == "8\n9\n10\n"
    assert shocker("logs", "--tail", "0", container_id).check().out == ""
    stamped = shocker("logs", "-t", "--tail", "2", container_id).check().lines
    assert len(stamped) == 2
    for line, value in zip(stamped, ("9", "10"), strict=True):
        assert STAMP.match(line), line
        assert line.split(" ", 1)[1] == value
    bad = shocker("logs", "--tail", "many", container_id)
    assert bad.rc != 0 and "--tail" in bad.err


def test_since_and_until_select_by_time(
    shocker: Shocker, busybox_id: str, containers: list[str]
) -> None:
    container_id = run_to_end(
        shocker, containers, busybox_id, "sh", "-c", "echo early; sleep 2; echo late"
    )
    stamped = shocker("logs", "-t", container_id).check().lines
    late_time = stamped[1].split(" ")[0]
    assert shocker("logs", "--since", late_time, container_id).check().out == "late\n"
    assert shocker("logs", "--until", late_time, container_id).check().out == "early\nlate\n"
    early_time = stamped[0].split(" ")[0]
    assert shocker("logs", "--until", early_time, container_id).check().out == "early\n"
    assert shocker("logs", "--since", "1h", container_id).check().out == "early\nlate\n"
    assert shocker("logs", "--until", "1h", container_id).check().out == ""
    assert shocker("logs", "--since", "2m", container_id).check().out == "early\nlate\n"
    bad = shocker("logs", "--since", "yesterday", container_id)
    assert bad.rc != 0 and "--since" in bad.err and len(bad.err.strip().splitlines()) == 1


def test_follow_with_tail_ends_when_the_container_exits(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    container_id = run_detached(
        busybox_id, "sh", "-c", "seq 1 5; sleep 1; for i in a b; do echo $i; sleep 0.2; done"
    )
    log = metadata(shocker, container_id) / "container-json.log"
    assert wait_until(lambda: log.exists() and log.read_text().count("\n") >= 5)
    followed = shocker("logs", "-f", "--tail", "2", container_id, timeout_s=20).check()
    assert followed.out == "4\n5\na\nb\n"


def test_follow_reads_across_rotations(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    script = "sleep 1; i=0; while [ $i -lt 200 ]; do echo n$i; i=$((i+1)); usleep 5000; done"
    container_id = run_detached(
        "--log-opt", "max-size=1k", "--log-opt", "max-file=5", busybox_id, "sh", "-c", script
    )
    followed = shocker("logs", "-f", container_id, timeout_s=30).check()
    assert followed.out == "".join(f"n{i}\n" for i in range(200))


def test_a_container_recorded_before_json_file_logs_shows_its_raw_log(
    shocker: Shocker, busybox_id: str, containers: list[str]
) -> None:
    container_id = run_to_end(shocker, containers, busybox_id, "true")
    directory = metadata(shocker, container_id)
    state = json.loads((directory / "state.json").read_text())
    del state["config"]["log"]
    (directory / "state.json").write_text(json.dumps(state))
    (directory / "container.log").write_bytes(b"old one\nold two\n")
    assert shocker("logs", container_id).check().out == "old one\nold two\n"
    assert shocker("logs", "--tail", "1", container_id).check().out == "old two\n"
    assert shocker("logs", "-f", container_id).check().out == "old one\nold two\n"
    stamped = shocker("logs", "-t", container_id)
    assert stamped.rc != 0 and "json-file" in stamped.err
