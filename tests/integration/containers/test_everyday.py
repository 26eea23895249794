"""Everyday commands through the CLI, checked by their effect: freezer state, processes,
files, records."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from tests.integration.containers.conftest import ps_row, wait_until
from tests.support.shocker import Shocker

CGROUPS = Path("/sys/fs/cgroup")


def freezer_state(shocker: Shocker, container_id: str) -> str:
    parent = shocker.env["SHOCKER_CGROUP_PARENT"]
    v1 = CGROUPS / "freezer" / parent / container_id / "freezer.state"
    if v1.exists():
        return v1.read_text().strip()
    v2 = CGROUPS / parent / container_id / "cgroup.freeze"
    return "FROZEN" if v2.read_text().strip() == "1" else "THAWED"


def cgroup_procs(shocker: Shocker, container_id: str) -> Path:
    parent = shocker.env["SHOCKER_CGROUP_PARENT"]
    for candidate in (
        CGROUPS / "freezer" / parent / container_id / "cgroup.procs",
        CGROUPS / parent / container_id / "cgroup.procs",
    ):
        if candidate.exists():
            return candidate
    raise AssertionError("no cgroup.procs for " + container_id)


def inspect(shocker: Shocker, container: str) -> dict[str, object]:
    data = json.loads(shocker("inspect", container).check().out)
    assert isinstance(data[0], dict)
    return data[0]


def test_pause_freezes_the_cgroup_and_unpause_lets_it_run(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    container_id = run_detached(
        busybox_id, "sh", "-c", "while true; do date +%s%N >> /tick; sleep 0.05; done"
    )
    tick = shocker.root / container_id / "tick"
    assert wait_until(tick.exists)
    assert shocker("pause", container_id).check().out == f"{container_id}\n"
    assert freezer_state(shocker, container_id) == "FROZEN"
    assert "(Paused)" in ps_row(shocker, container_id)
    paused = shocker("ps", "-q", "--filter", "status=paused").check().lines
    assert paused == [container_id]
    frozen_size = tick.stat().st_size
    time.sleep(0.4)
    assert tick.stat().st_size == frozen_size
    again = shocker("pause", container_id)
    assert again.rc != 0 and "already paused" in again.err
    shocker("unpause", container_id).check()
    assert freezer_state(shocker, container_id) == "THAWED"
    assert wait_until(lambda: tick.stat().st_size > frozen_size)
    assert "(Paused)" not in ps_row(shocker, container_id)
    # Stopped while paused: the container is thawed so that it can die.
    shocker("pause", container_id).check()
    shocker("stop", "-t", "1", container_id).check()
    assert "Exited" in ps_row(shocker, container_id)


def test_exec_into_a_paused_container_is_refused_with_one_line(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    container_id = run_detached(busybox_id, "sleep", "60")
    shocker("pause", container_id).check()
    procs = cgroup_procs(shocker, container_id)
    before = procs.read_text()
    refused = shocker("exec", container_id, "touch", "/exec-ran", timeout_s=20)
    assert refused.rc == 125
    assert refused.err == (
        f"Container '{container_id}' is paused, unpause the container before exec\n"
    )
    assert procs.read_text() == before  # no process was added to the frozen cgroup
    shocker("unpause", container_id).check()
    assert not (shocker.root / container_id / "exec-ran").exists()
    assert shocker("exec", container_id, "true").rc == 0


def test_rm_f_of_a_paused_container_leaves_no_process(shocker: Shocker, busybox_id: str) -> None:
    container_id = shocker("run", "-d", busybox_id, "sleep", "60").check().lines[-1]
    shocker("pause", container_id).check()
    pid = inspect(shocker, container_id)["pid"]
    shocker("rm", "-f", container_id).check()
    assert not Path(f"/proc/{pid}").exists()


def test_unknown_containers_keep_the_one_line_error(shocker: Shocker) -> None:
    for command in (
        ["pause"],
        ["unpause"],
        ["restart"],
        ["top"],
        ["diff"],
        ["rename"],
    ):
        args = [*command, "no-such-box"] + (["new"] if command == ["rename"] else [])
        result = shocker(*args)
        assert result.rc != 0
        assert result.err.strip() == "No container named 'no-such-box' exists", result


def test_rename_keeps_the_container_under_its_new_name(
    shocker: Shocker, busybox_id: str, containers: list[str]
) -> None:
    shocker("run", "--name", "before-rename", busybox_id, "true").check()
    containers.append("before-rename")
    shocker("rename", "before-rename", "after-rename").check()
    containers.append("after-rename")
    assert inspect(shocker, "after-rename")["name"] == "after-rename"
    assert shocker("inspect", "before-rename").rc != 0
    shocker("run", "--name", "taken-name", busybox_id, "true").check()
    containers.append("taken-name")
    clash = shocker("rename", "after-rename", "taken-name")
    assert clash.rc != 0 and "already in use" in clash.err


def test_restart_runs_the_command_again_on_the_same_files(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    container_id = run_detached(busybox_id, "sh", "-c", "echo run >> /runs; exec sleep 60")
    first = inspect(shocker, container_id)["pid"]
    assert shocker("restart", "-t", "1", container_id).check().out == f"{container_id}\n"
    second = inspect(shocker, container_id)
    assert second["state"] == "running" and second["pid"] != first
    assert wait_until(lambda: (shocker.root / container_id / "runs").read_text() == "run\nrun\n")


def test_labels_filters_and_format(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    web = run_detached(
        "--name", "lbl-web", "-l", "tier=front", "--label", "team", busybox_id, "sleep", "60"
    )
    db = run_detached("--name", "lbl-db", "-l", "tier=back", busybox_id, "sleep", "60")
    assert inspect(shocker, web)["labels"] == {"tier": "front", "team": ""}
    query = ["ps", "-q", "--filter", "name=lbl-"]
    assert set(shocker(*query).check().lines) == {web, db}
    assert shocker(*query, "--filter", "label=tier=front").check().lines == [web]
    assert shocker(*query, "--filter", "label=team", "--filter", "label=tier").check().lines == [
        web
    ]
    assert shocker(*query, "-f", "label=tier=back", "-f", "status=running").check().lines == [db]
    assert shocker(*query, "-f", "label=tier=back", "-f", "status=exited").check().lines == []
    ancestors = shocker(*query, "-f", f"ancestor={busybox_id}").check().lines
    assert set(ancestors) == {web, db}
    formatted = shocker(
        "ps",
        "--filter",
        "name=lbl-web",
        "--format",
        '{{.ID}} {{.Names}} {{.Label "tier"}} {{.State}}',
    ).check()
    assert formatted.out == f"{web} lbl-web front running\n"
    table = shocker("ps", "-f", "name=lbl-db", "--format", "table {{.ID}}\\t{{.Status}}").check()
    assert table.lines[0].split("   ")[0] == "CONTAINER ID"
    assert table.lines[1].startswith(db) and "Up " in table.lines[1]
    bad = shocker("ps", "--filter", "colour=red")
    assert bad.rc == 125 and len(bad.err.strip().splitlines()) == 1


def test_top_lists_the_containers_processes_with_ps_options(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    container_id = run_detached(busybox_id, "sh", "-c", "sleep 61 & exec sleep 62")
    assert wait_until(lambda: len(shocker("top", container_id).check().lines) == 3)
    lines = shocker("top", container_id).check().lines
    assert "PID" in lines[0].split()
    assert any("sleep 61" in ln for ln in lines) and any("sleep 62" in ln for ln in lines)
    custom = shocker("top", container_id, "-o", "pid,args").check().lines
    assert custom[0].split() == ["PID", "COMMAND"]
    assert sorted(ln.split(None, 1)[1] for ln in custom[1:]) == ["sleep 61", "sleep 62"]


def test_diff_shows_added_changed_and_deleted_files(
    shocker: Shocker, busybox_id: str, containers: list[str]
) -> None:
    shocker("run", "--name", "differ-clean", busybox_id, "true").check()
    containers.append("differ-clean")
    untouched = shocker("diff", "differ-clean").check().lines
    assert all(line.startswith("C ") for line in untouched), untouched
    script = "echo new > /tmp/added; echo x >> /etc/passwd; rm /bin/ls; mkdir /newdir"
    shocker("run", "--name", "differ", busybox_id, "sh", "-c", script).check()
    containers.append("differ")
    lines = shocker("diff", "differ").check().lines
    for expected in ("A /tmp/added", "C /etc/passwd", "D /bin/ls", "A /newdir", "C /tmp"):
        assert expected in lines, lines
    assert lines == sorted(lines, key=lambda line: line[2:])


def test_exec_detached_returns_at_once_and_the_command_runs(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    container_id = run_detached(busybox_id, "sleep", "60")
    # The command sleeps longer than exec -d takes to return even on a loaded host (a second
    # was not always enough with fifty other processes competing for two cores).
    result = shocker("exec", "-d", container_id, "sh", "-c", "sleep 8; echo done > /exec-d")
    assert result.check().out == ""
    assert not (shocker.root / container_id / "exec-d").exists()
    assert wait_until(lambda: (shocker.root / container_id / "exec-d").exists(), timeout_s=60)


def test_stop_signal_and_stop_timeout(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    script = 'trap "echo got-usr1; exit 3" USR1; while true; do sleep 0.1; done'
    container_id = run_detached("--stop-signal", "USR1", busybox_id, "sh", "-c", script)
    shocker("stop", container_id).check()
    record = inspect(shocker, container_id)
    assert record["exit_code"] == 3
    assert "got-usr1" in shocker("logs", container_id).check().out
    # SIGTERM caught and ignored: --stop-timeout 1 decides when SIGKILL comes.
    stubborn = run_detached(
        "--stop-signal",
        "SIGUSR2",
        "--stop-timeout",
        "1",
        busybox_id,
        "sh",
        "-c",
        'trap "" USR2 TERM; while true; do sleep 0.1; done',
    )
    shocker("stop", stubborn).check()
    assert inspect(shocker, stubborn)["exit_code"] == 137
    bad = shocker("run", "--stop-signal", "NOPE", busybox_id, "true")
    assert bad.rc == 125 and "--stop-signal" in bad.err
