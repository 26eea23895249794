"""exec_in: a new process joins a running container, confined like its pid 1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest

from shocker.errors import RuntimeFailure
from shocker.runtime.exec import ExecSpec, exec_in
from tests.integration.runtime.processes import SRC, Client
from tests.integration.runtime.starts import Start

MakeSpec = Callable[..., Start]


@pytest.fixture
def running(make_spec: MakeSpec, client: Callable[..., Client]) -> Iterator[int]:
    """Host pid of a detached container's pid 1 (`sleep 60`); stopped after the test."""
    started = client(make_spec("sleep", "60"), detach=True)
    assert started.process.wait(timeout=10) == 0
    pid, _ = started.pids()
    yield pid
    os.kill(pid, signal.SIGKILL)
    started.event("exit")


def test_exec_joins_the_pid_namespace_and_hostname(
    running: int, capfd: pytest.CaptureFixture[str]
) -> None:
    code = exec_in(running, ExecSpec(argv=("sh", "-c", "hostname; ps -o pid,args"), env=()))
    assert code == 0
    out = capfd.readouterr().out
    assert out.startswith("ps-7e57a\n")
    assert "    1 sleep 60" in out


def test_exec_returns_the_commands_exit_code(running: int) -> None:
    assert exec_in(running, ExecSpec(argv=("sh", "-c", "exit 9"), env=())) == 9


def test_exec_is_confined_like_the_container(
    running: int, capfd: pytest.CaptureFixture[str]
) -> None:
    exec_in(
        running, ExecSpec(argv=("grep", "-E", "CapEff|NoNewPrivs", "/proc/self/status"), env=())
    )
    assert capfd.readouterr().out.split() == ["CapEff:", "00000000a80425fb", "NoNewPrivs:", "1"]


def test_exec_as_another_user_with_env_and_cwd(
    running: int, capfd: pytest.CaptureFixture[str]
) -> None:
    spec = ExecSpec(
        argv=("sh", "-c", "id -u; echo $MODE; pwd"), env=("MODE=test",), user="nobody", cwd="/tmp"
    )
    assert exec_in(running, spec) == 0
    assert capfd.readouterr().out == "65534\ntest\n/tmp\n"


def test_exec_of_a_missing_command_fails_with_127(running: int) -> None:
    with pytest.raises(RuntimeFailure) as failure:
        exec_in(running, ExecSpec(argv=("no-such-command",), env=()))
    assert failure.value.exit_code == 127


def test_exec_writes_its_pid_to_the_given_cgroup_files(running: int, tmp_path: Path) -> None:
    procs = tmp_path / "cgroup.procs"
    procs.write_text("")
    assert exec_in(running, ExecSpec(argv=("true",), env=(), cgroup_procs=(procs,))) == 0
    assert procs.read_text() == "0"  # a plain file here; cgroupfs reads "0" as the writer


def test_exec_with_interactive_stdin(running: int, tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from shocker.runtime.exec import ExecSpec, exec_in\n"
        f"sys.exit(exec_in({running}, ExecSpec(argv=('cat',), env=(), interactive=True)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=b"piped\n",
        capture_output=True,
        env=env,
        timeout=10,
    )
    assert result.returncode == 0
    assert result.stdout == b"piped\n"


def test_exec_with_a_terminal_gets_its_own_pty_of_the_callers_size(running: int) -> None:
    script = (
        "import sys\n"
        "from shocker.runtime.exec import ExecSpec, exec_in\n"
        f"spec = ExecSpec(argv=('sh',), env=(), tty=True, interactive=True)\n"
        f"sys.exit(exec_in({running}, spec))\n"
    )
    shell = pexpect.spawn(
        sys.executable,
        ["-c", script],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        dimensions=(25, 90),
        timeout=10,
    )
    try:
        shell.expect("# ")
        shell.sendline("tty; stty size")
        shell.expect("25 90")
        assert "/dev/pts/" in shell.before.decode()
        shell.setwinsize(33, 111)
        shell.sendline("stty size")
        shell.expect("33 111")
        shell.sendline("exit 4")
        shell.expect(pexpect.EOF)
        shell.close()
        assert shell.exitstatus == 4
    finally:
        shell.close(force=True)
