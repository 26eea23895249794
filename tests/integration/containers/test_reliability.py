"""Concurrency and crashes: distinct ids, valid state, truthful status, nothing leaked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from tests.integration.containers.conftest import ps_row, wait_until
from tests.support.shocker import Shocker

CONCURRENCY = 30


def test_concurrent_foreground_runs_all_succeed(shocker: Shocker, busybox_id: str) -> None:
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        results = list(
            pool.map(lambda _: shocker("run", "--rm", busybox_id, "true"), range(CONCURRENCY))
        )
    failed = [str(r) for r in results if r.rc != 0]
    assert not failed, failed[0]


def test_concurrent_detached_runs_get_distinct_ids_and_valid_state(
    shocker: Shocker, busybox_id: str, containers: list[str]
) -> None:
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        results = list(
            pool.map(lambda _: shocker("run", "-d", busybox_id, "sleep", "30"), range(CONCURRENCY))
        )
    ids = [r.lines[-1] for r in results if r.rc == 0]
    containers.extend(ids)
    assert len(ids) == CONCURRENCY, [str(r) for r in results if r.rc != 0][:1]
    assert len(set(ids)) == CONCURRENCY
    state_dir = shocker.root / ".shocker" / "containers"
    for container_id in ids:
        record = json.loads((state_dir / container_id / "state.json").read_text())
        assert record["state"] == "running"
    with ThreadPoolExecutor(8) as pool:
        removed = list(pool.map(lambda c: shocker("rm", "-f", c), ids))
    assert all(r.rc == 0 for r in removed), [str(r) for r in removed if r.rc][:1]
    containers.clear()


def test_kill_9_of_a_foreground_run_leaves_a_truthful_status_and_rm_cleans_up(
    shocker: Shocker, busybox_id: str, containers: list[str]
) -> None:
    # The container's output goes straight from its supervisor to this stdout: not a pipe
    # that the test would wait on.
    process = shocker.popen(
        "run",
        "--name",
        "crashy",
        busybox_id,
        "sleep",
        "30",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    containers.append("crashy")
    assert wait_until(lambda: "Up " in _row(shocker, "crashy"))
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    # The supervisor still owns the container: it keeps running, truthfully listed.
    assert "Up " in _row(shocker, "crashy")
    shocker("rm", "-f", "crashy").check()
    containers.remove("crashy")
    assert _row(shocker, "crashy") == ""


def test_container_whose_processes_all_died_is_not_listed_as_running(
    shocker: Shocker, busybox_id: str, containers: list[str]
) -> None:
    container_id = shocker("run", "-d", busybox_id, "sleep", "30").check().lines[-1]
    containers.append(container_id)
    state = json.loads(
        (shocker.root / ".shocker" / "containers" / container_id / "state.json").read_text()
    )
    # Kill the supervisor first (it cannot record anything), then pid 1.
    os.kill(state["supervisor_pid"], signal.SIGKILL)
    os.kill(state["pid"], signal.SIGKILL)
    assert wait_until(lambda: "Up " not in ps_row(shocker, container_id))
    assert "Exited" in ps_row(shocker, container_id)


def test_ctrl_c_stops_a_foreground_container(shocker: Shocker, busybox_id: str) -> None:
    process = shocker.popen("run", "--rm", busybox_id, "sleep", "30")
    time.sleep(1.0)
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert time.monotonic() - started < 15
    assert process.returncode != 0


def _row(shocker: Shocker, name: str) -> str:
    for line in shocker("ps").check().lines:
        if f" {name} " in line:
            return line
    return ""
