"""`run --restart` through the CLI: policies carried out by the container's own monitor,
ended by `stop` and `rm -f`, shown by `ps` and `inspect`."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.containers.conftest import wait_until
from tests.support.shocker import Shocker


def record(shocker: Shocker, container_id: str) -> dict[str, object]:
    data = json.loads(shocker("inspect", container_id).check().out)
    assert isinstance(data[0], dict)
    return data[0]


def processes_mentioning(container_id: str) -> list[int]:
    """Host processes whose command line names the container (monitors, _finish)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if container_id.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_on_failure_with_a_count_restarts_that_many_times(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    container_id = run_detached(
        "--restart", "on-failure:2", busybox_id, "sh", "-c", "echo ran; exit 3"
    )

    def done() -> bool:
        current = record(shocker, container_id)
        return current["state"] == "exited" and current["restart_count"] == 2

    assert wait_until(done, 30)
    time.sleep(1.0)  # no third restart comes
    current = record(shocker, container_id)
    assert current["restart_count"] == 2 and current["exit_code"] == 3
    assert current["state"] == "exited"
    assert shocker("logs", container_id).check().out == "ran\nran\nran\n"  # 3 runs in all
    restarts = shocker("ps", "--format", "{{.RestartCount}}", "-f", f"id={container_id}")
    assert restarts.check().out == "2\n"
    assert "Exited (3)" in shocker("ps").check().out


def test_on_failure_does_not_restart_after_success(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    container_id = run_detached("--restart", "on-failure", busybox_id, "true")
    assert wait_until(lambda: record(shocker, container_id)["state"] == "exited", 20)
    time.sleep(0.5)
    assert record(shocker, container_id)["restart_count"] == 0


@pytest.mark.parametrize("policy", ["always", "unless-stopped"])
def test_always_restarts_until_stop_ends_it_for_good(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str, policy: str
) -> None:
    container_id = run_detached(
        "--restart", policy, busybox_id, "sh", "-c", "echo up; sleep 0.3; exit 0"
    )
    assert wait_until(lambda: int(str(record(shocker, container_id)["restart_count"])) >= 2, 30)
    assert wait_until(lambda: record(shocker, container_id)["state"] == "running", 20)
    shocker("stop", "-t", "2", container_id).check()
    stopped = record(shocker, container_id)
    assert stopped["state"] == "exited"
    time.sleep(1.5)
    later = record(shocker, container_id)
    assert later["state"] == "exited"
    assert later["restart_count"] == stopped["restart_count"]
    assert wait_until(lambda: not processes_mentioning(container_id), 10)
    # `start` runs it again, and the policy with it.
    shocker("start", container_id).check()
    count = int(str(later["restart_count"]))
    assert wait_until(lambda: int(str(record(shocker, container_id)["restart_count"])) > count, 30)
    shocker("stop", "-t", "2", container_id).check()
    assert wait_until(lambda: not processes_mentioning(container_id), 10)


def test_rm_f_during_restarts_leaves_no_process(
    shocker: Shocker, busybox_id: str, containers: list[str]
) -> None:
    result = shocker("run", "-d", "--restart", "always", busybox_id, "sh", "-c", "exit 1")
    container_id = result.check().lines[-1]
    containers.append(container_id)
    assert wait_until(lambda: int(str(record(shocker, container_id)["restart_count"])) >= 3, 30)
    shocker("rm", "-f", container_id).check()
    assert wait_until(lambda: not processes_mentioning(container_id), 15)
    time.sleep(1.5)  # no pending restart brings it back
    assert not processes_mentioning(container_id)
    assert shocker("inspect", container_id).rc != 0
    parent = shocker.env["SHOCKER_CGROUP_PARENT"]
    cgroups = Path("/sys/fs/cgroup")
    candidates = [cgroups / parent / container_id]
    candidates += [c / parent / container_id for c in cgroups.iterdir() if c.is_dir()]
    assert not [c for c in candidates if c.exists()]


def test_bad_restart_policies_are_usage_errors(shocker: Shocker, busybox_id: str) -> None:
    before = shocker("ps", "-q").check().lines
    for args in (
        ("--restart", "sometimes"),
        ("--restart", "always:3"),
        ("--restart", "on-failure:x"),
        ("--rm", "--restart", "always"),
    ):
        result = shocker("run", *args, busybox_id, "true")
        assert result.rc == 125, result
        assert len(result.err.strip().splitlines()) == 1, result
    assert shocker("ps", "-q").check().lines == before
