"""Detached starts, the supervisor outliving its client, and signals from the client."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from shocker.linux.proc import is_alive
from shocker.runtime import launcher
from tests.integration.runtime.processes import Client
from tests.integration.runtime.starts import Start

MakeSpec = Callable[..., Start]
Launch = Callable[..., Client]


def run(start: Start) -> int:
    return launcher.start(
        *start,
        detach=False,
        on_created=lambda pid: None,
        on_started=lambda pid, supervisor: None,
        on_exit=lambda status: None,
    )


def wait_gone(pid: int, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while is_alive(pid, None):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_detached_start_returns_while_the_container_runs(
    make_spec: MakeSpec, client: Launch
) -> None:
    started = client(make_spec("sleep", "60"), detach=True, stdout=subprocess.PIPE)
    # The caller captures our output: a supervisor holding the pipe would hang this read.
    out, _ = started.process.communicate(timeout=10)
    assert started.process.returncode == 0
    assert out == b""
    pid, supervisor = started.pids()
    assert is_alive(pid, None)
    assert is_alive(supervisor, None)
    os.kill(pid, signal.SIGKILL)
    assert started.event("exit") == "137 9"
    assert wait_gone(supervisor)


def test_detached_output_goes_to_the_log_only(
    make_spec: MakeSpec, client: Launch, tmp_path: Path
) -> None:
    started = client(make_spec("sh", "-c", "echo out; echo err >&2"), detach=True)
    assert started.process.wait(timeout=10) == 0
    assert started.event("exit") == "0 None"
    _, supervisor = started.pids()
    assert wait_gone(supervisor)
    log = (tmp_path / "container.log").read_text()
    assert sorted(log.splitlines()) == ["err", "out"]


def test_detached_start_failure_is_reported_to_the_caller(
    make_spec: MakeSpec, client: Launch
) -> None:
    started = client(make_spec("no-such-command"), detach=True, stderr=subprocess.PIPE)
    _, err = started.process.communicate(timeout=10)
    assert started.process.returncode == 127
    assert b"executable file not found" in err


def test_supervisor_survives_kill_9_of_a_foreground_client(
    make_spec: MakeSpec, client: Launch
) -> None:
    started = client(make_spec("sleep", "60"))
    pid, supervisor = started.pids()
    started.process.kill()
    started.process.wait()
    assert is_alive(pid, None)
    assert is_alive(supervisor, None)
    os.kill(pid, signal.SIGTERM)  # ignored: sleep as pid 1 has no handler
    os.kill(pid, signal.SIGKILL)
    assert started.event("exit") == "137 9"
    assert wait_gone(supervisor)


def test_ctrl_c_stops_a_command_without_a_handler(make_spec: MakeSpec, client: Launch) -> None:
    started = client(make_spec("sleep", "60"))
    started.pids()
    started.process.send_signal(signal.SIGINT)
    assert started.process.wait(timeout=10) == 137
    assert started.event("exit") == "137 9"


def test_signals_reach_a_command_that_handles_them(make_spec: MakeSpec, client: Launch) -> None:
    script = "trap 'echo got-term; exit 5' TERM; echo ready; while true; do sleep 0.05; done"
    started = client(make_spec("sh", "-c", script), stdout=subprocess.PIPE)
    assert started.process.stdout is not None
    assert started.process.stdout.readline() == b"ready\n"
    started.process.send_signal(signal.SIGTERM)
    assert started.process.wait(timeout=10) == 5
    assert started.process.stdout.read() == b"got-term\n"


def test_interactive_stdin_reaches_the_container(make_spec: MakeSpec, client: Launch) -> None:
    started = client(
        make_spec("sh", "-c", "read line; echo got:$line", interactive=True),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    out, _ = started.process.communicate(b"hello\n", timeout=10)
    assert out == b"got:hello\n"
    assert started.process.returncode == 0


def test_detached_supervisor_becomes_a_lean_monitor_that_runs_the_exit_command(
    make_spec: MakeSpec, client: Launch, tmp_path: Path
) -> None:
    record = tmp_path / "exit-command-args"
    command = [
        sys.executable,
        "-c",
        f"import sys; open({str(record)!r}, 'w').write(' '.join(sys.argv[1:]))",
    ]
    started = client(
        make_spec("sh", "-c", "echo before; sleep 60"), detach=True, exit_command=command
    )
    assert started.process.wait(timeout=10) == 0
    _, supervisor = started.pids()
    deadline = time.monotonic() + 10
    while b"shocker.runtime.monitor" not in Path(f"/proc/{supervisor}/cmdline").read_bytes():
        assert time.monotonic() < deadline, "the supervisor never became the monitor"
        time.sleep(0.01)
    # It starts at the lowest priority (its start-up yields to other starts), then takes ours.
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    while os.getpriority(os.PRIO_PROCESS, supervisor) != ours:
        assert time.monotonic() < deadline, "the monitor kept its start-up priority"
        time.sleep(0.01)
    os.kill(supervisor, signal.SIGTERM)  # forwarded; sh as pid 1 has no handler: SIGKILL
    assert wait_gone(supervisor)
    assert record.read_text() == "137 9"
    assert not (started.events / "exit").exists()  # the exit command replaced on_exit
    assert (tmp_path / "container.log").read_text() == "before\n"


def test_a_container_can_join_another_containers_network_namespace(
    make_spec: MakeSpec, client: Launch, capfd: pytest.CaptureFixture[str]
) -> None:
    started = client(make_spec("sleep", "60"), detach=True)
    assert started.process.wait(timeout=10) == 0
    pid, _ = started.pids()
    try:
        joined = make_spec("readlink", "/proc/self/ns/net", network=f"/proc/{pid}/ns/net")
        assert run(joined) == 0
        assert capfd.readouterr().out.strip() == str(Path(f"/proc/{pid}/ns/net").readlink())
    finally:
        os.kill(pid, signal.SIGKILL)
        started.event("exit")


def test_host_network_keeps_the_hosts_namespace(
    make_spec: MakeSpec, capfd: pytest.CaptureFixture[str]
) -> None:
    assert run(make_spec("readlink", "/proc/self/ns/net", network="host")) == 0
    assert capfd.readouterr().out.strip() == str(Path("/proc/self/ns/net").readlink())
