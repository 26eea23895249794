"""ps, logs and exec through the CLI, as the original's users script them."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.integration.containers.conftest import ps_row, wait_until
from tests.support.shocker import Shocker


def test_ps_lists_stopped_containers_with_id_first_and_command_last(
    shocker: Shocker, busybox_id: str, containers: list[str]
) -> None:
    shocker("run", busybox_id, "cat", "/etc/issue").check()
    lines = shocker("ps").check().lines
    assert lines[0].startswith("CONTAINER_ID")
    matches = [ln for ln in lines if "cat /etc/issue" in ln]
    assert matches
    container_id = matches[0].split()[0]
    containers.append(container_id)
    assert container_id.startswith("ps-")
    assert matches[0].endswith("cat /etc/issue")
    assert "Exited (0)" in matches[0]


def test_ps_quiet_and_json(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    container_id = run_detached(busybox_id, "sleep", "30")
    assert container_id in shocker("ps", "-q").check().lines
    records = json.loads(shocker("ps", "--format", "json").check().out)
    mine = [r for r in records if r["id"] == container_id]
    assert mine and mine[0]["running"] is True


def test_logs_keep_what_the_container_printed(
    shocker: Shocker, busybox_id: str, containers: list[str]
) -> None:
    shocker("run", "--name", "logger", busybox_id, "sh", "-c", "echo out; echo err >&2").check()
    containers.append("logger")
    logs = shocker("logs", "logger").check()
    # As Docker's: the container's stderr comes back on stderr.
    assert logs.out == "out\n"
    assert logs.err == "err\n"


def test_logs_follow_ends_when_the_container_exits(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    container_id = run_detached(
        busybox_id, "sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.2; done"
    )
    followed = shocker("logs", "-f", container_id, timeout_s=20).check()
    assert followed.out == "1\n2\n3\n"


def test_detached_container_keeps_running_after_the_cli_exits(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    container_id = run_detached(busybox_id, "sleep", "30")
    assert "Up " in ps_row(shocker, container_id)


def test_exec_joins_the_running_containers_namespaces(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    container_id = run_detached("--hostname", "inside", busybox_id, "sleep", "30")
    assert shocker("exec", container_id, "hostname").check().out == "inside\n"
    procs = shocker("exec", container_id, "ps").check().out
    assert "sleep 30" in procs
    status = shocker("exec", container_id, "grep", "CapEff", "/proc/self/status").check().out
    assert int(status.split()[1], 16) == 0xA80425FB
    assert shocker("exec", "-e", "X=1", container_id, "sh", "-c", "echo $X").check().out == "1\n"
    assert shocker("exec", container_id, "sh", "-c", "exit 7").rc == 7


def test_exec_errors_keep_the_originals_wording(
    shocker: Shocker, busybox_id: str, containers: list[str]
) -> None:
    missing = shocker("exec", "foo-not-here", "true")
    assert missing.rc != 0
    assert "No container named 'foo-not-here' exists" in missing.err
    shocker("run", "--name", "stopped-one", busybox_id, "true").check()
    containers.append("stopped-one")
    stopped = shocker("exec", "stopped-one", "true")
    assert "exists but is not running" in stopped.err
    assert stopped.err.startswith("Container 'ps-")


def test_stop_start_kill_and_wait(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    container_id = run_detached("--name", "cycler", busybox_id, "sleep", "60")
    shocker("stop", "-t", "1", "cycler").check()
    assert "Exited" in ps_row(shocker, container_id)
    shocker("start", "cycler").check()
    assert wait_until(lambda: "Up " in ps_row(shocker, container_id))
    shocker("kill", "cycler").check()
    assert shocker("wait", "cycler").check().out.strip() == "137"
    assert "Exited (137)" in ps_row(shocker, container_id)


def test_stop_of_a_container_that_ignores_sigterm_kills_it(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    container_id = run_detached(busybox_id, "sh", "-c", "trap '' TERM; sleep 60")
    shocker("stop", "-t", "1", container_id).check()
    assert "Exited (137)" in ps_row(shocker, container_id)


def test_rm_needs_force_for_a_running_container(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    container_id = run_detached(busybox_id, "sleep", "60")
    refused = shocker("rm", container_id)
    assert refused.rc != 0
    assert "running" in refused.err
    assert shocker("rm", "-f", container_id).check().out == f"Removed: {container_id}\n"
    assert not (shocker.root / container_id).exists()
    assert container_id not in shocker("ps", "-q").check().lines


def test_name_in_use_is_a_conflict(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    run_detached("--name", "unique-name", busybox_id, "sleep", "30")
    clash = shocker("run", "-d", "--name", "unique-name", busybox_id, "true")
    assert clash.rc != 0
    assert "already in use" in clash.err
