"""`stats` through the CLI, checked against what the containers were made to use."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from tests.integration.containers.conftest import wait_until
from tests.support.shocker import Shocker

HEADER = [
    "CONTAINER ID",
    "NAME",
    "CPU %",
    "MEM USAGE / LIMIT",
    "MEM %",
    "NET I/O",
    "BLOCK I/O",
    "PIDS",
]
SIZE = r"\d+(\.\d+)?(B|KiB|MiB|GiB)"
DECIMAL = r"\d+(\.\d+)?(B|kB|MB|GB)"


def cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


def mebibytes(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(B|KiB|MiB|GiB)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"B": 2**-20, "KiB": 2**-10, "MiB": 1, "GiB": 1024}[unit]


def test_stats_reports_cpu_memory_network_and_pids_of_a_busy_container(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    gateway = shocker.env["SHOCKER_SUBNET"].split("/")[0]
    script = (
        f"ping -c 3 -i 0.2 {gateway} >/dev/null; head -c 20000000 /dev/zero > /dev/shm/fill;"
        " sleep 1000 & while :; do :; done"
    )
    container_id = run_detached("--name", "busy", "-m", "64m", busybox_id, "sh", "-c", script)
    idle_id = run_detached("--name", "idle", busybox_id, "sleep", "1000")
    assert wait_until(lambda: "sleep 1000" in shocker("top", container_id).out, 20)
    lines = shocker("stats", "--no-stream", container_id, idle_id).check().lines
    assert cells(lines[0]) == HEADER
    assert len(lines) == 3
    row, idle = cells(lines[1]), cells(lines[2])
    assert row[0] == container_id and row[1] == "busy"
    assert idle[0] == idle_id and idle[1] == "idle"
    assert re.fullmatch(r"\d+\.\d\d%", row[2])
    cpu, idle_cpu = float(row[2].rstrip("%")), float(idle[2].rstrip("%"))
    # One shell spinning: its share of a loaded machine varies, but never matches idling.
    assert cpu > 2.0 and cpu > 10 * idle_cpu
    used, limit = row[3].split(" / ")
    assert re.fullmatch(SIZE, used) and limit == "64MiB"
    assert mebibytes(used) >= 19.0  # the 20 MB in /dev/shm are the container's memory
    assert abs(float(row[4].rstrip("%")) - mebibytes(used) / 64 * 100) < 2.0
    received, sent = row[5].split(" / ")
    assert re.fullmatch(DECIMAL, received) and re.fullmatch(DECIMAL, sent)
    assert received != "0B" and sent != "0B"  # the pings went through the veth
    read, written = row[6].split(" / ")
    assert re.fullmatch(DECIMAL, read) and re.fullmatch(DECIMAL, written)
    assert int(row[7]) == 2  # sh and sleep


def test_stats_without_names_lists_running_containers_only(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str, containers: list[str]
) -> None:
    running = run_detached(busybox_id, "sleep", "60")
    shocker("run", "--name", "stats-exited", busybox_id, "true").check()
    containers.append("stats-exited")
    lines = shocker("stats", "--no-stream").check().lines
    ids = [cells(line)[0] for line in lines[1:]]
    assert running in ids
    assert not any(line.startswith("ps-") and "stats-exited" in line for line in lines)


def test_stats_format_json_and_template(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    container_id = run_detached("--name", "quiet", busybox_id, "sleep", "60")
    output = shocker("stats", "--no-stream", "--format", "json", container_id).check().lines
    data = json.loads(output[0])
    assert data["ID"] == container_id and data["Name"] == "quiet"
    assert set(data) >= {"CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO", "PIDs"}
    assert data["PIDs"] == "1"
    template = shocker(
        "stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", container_id
    ).check()
    assert template.out == "quiet 1\n"


def test_stats_stream_ends_when_the_named_container_exits(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    container_id = run_detached(busybox_id, "sleep", "2")
    result = shocker("stats", container_id, timeout_s=30).check()
    headers = [line for line in result.lines if line.startswith("CONTAINER ID")]
    assert len(headers) >= 2  # redrawn each second while it ran


def test_stats_of_an_unknown_container_is_one_line(shocker: Shocker) -> None:
    result = shocker("stats", "--no-stream", "nope-not-here")
    assert result.rc != 0
    assert result.err.strip() == "No container named 'nope-not-here' exists"
