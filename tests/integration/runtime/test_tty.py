"""`-t`: a pty from the container's devpts, raw mode on the caller's terminal, window size."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest

from tests.integration.runtime.processes import DRIVER, SRC, container_processes
from tests.integration.runtime.starts import Start, to_json

MakeSpec = Callable[..., Start]


@pytest.fixture(autouse=True)
def close_children() -> Iterator[None]:
    yield
    for child, events in SPAWNED:
        child.close(force=True)
        # The supervisor outlives its client by design: stop the container as well.
        started = events / "started"
        if started.exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(started.read_text().split()[0]), signal.SIGKILL)
    SPAWNED.clear()


SPAWNED: list[tuple[pexpect.spawn, Path]] = []


def wait_for_process(root: Path, cmdline: bytes) -> None:
    """Until a process in the container runs `cmdline` (it has exec'd)."""
    for _ in range(1000):
        for pid in container_processes(root):
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/cmdline").read_bytes() == cmdline:
                    return
        time.sleep(0.01)
    raise AssertionError(f"{cmdline!r} never ran")


def terminal(make_spec: MakeSpec, *argv: str) -> Start:
    """`-it`: a terminal, and the caller's input."""
    return make_spec(*argv, tty=True, interactive=True)


def spawn(start: Start, events: Path) -> pexpect.spawn:
    events.mkdir(exist_ok=True)
    child = pexpect.spawn(
        sys.executable,
        [str(DRIVER), to_json(start), str(events)],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        dimensions=(30, 100),
        timeout=10,
    )
    SPAWNED.append((child, events))
    return child


def test_shell_gets_a_terminal_of_the_callers_size(make_spec: MakeSpec, tmp_path: Path) -> None:
    shell = spawn(terminal(make_spec, "sh"), tmp_path / "events")
    shell.expect("# ")
    shell.sendline("tty; stty size; echo $TERM")
    shell.expect("xterm")
    lines = shell.before.decode().split("\r\n")
    assert "/dev/pts/0" in lines
    assert "30 100" in lines
    shell.sendline("exit 7")
    shell.expect(pexpect.EOF)
    shell.close()
    assert shell.exitstatus == 7


def test_window_size_follows_a_resize(make_spec: MakeSpec, tmp_path: Path) -> None:
    shell = spawn(terminal(make_spec, "sh"), tmp_path / "events")
    shell.expect("# ")
    shell.setwinsize(40, 120)
    shell.sendline("stty size")
    shell.expect("40 120")
    shell.sendline("exit")
    shell.expect(pexpect.EOF)


def test_ctrl_c_goes_to_the_foreground_job_in_the_container(
    make_spec: MakeSpec, tmp_path: Path
) -> None:
    shell = spawn(terminal(make_spec, "sh"), tmp_path / "events")
    shell.expect("# ")
    shell.sendline("sleep 30")
    wait_for_process(make_spec("sh").rootfs, b"sleep\x0030\x00")
    shell.sendcontrol("c")
    shell.expect("# ")
    shell.sendline("echo status-$?")
    shell.expect("status-130")
    shell.sendline("exit")
    shell.expect(pexpect.EOF)


def test_console_is_the_pty_and_output_reaches_the_log(make_spec: MakeSpec, tmp_path: Path) -> None:
    shell = spawn(
        terminal(make_spec, "sh", "-c", "ls -l /dev/console; echo logged"), tmp_path / "events"
    )
    shell.expect(pexpect.EOF)
    shell.close()
    assert shell.exitstatus == 0
    assert "136," in shell.before.decode()  # a pty slave (major 136), not a plain file
    assert b"logged\r\n" in (tmp_path / "container.log").read_bytes()


def test_callers_terminal_settings_come_back_after_exit(
    make_spec: MakeSpec, tmp_path: Path
) -> None:
    script = (
        "import os, subprocess, sys, termios\n"
        "before = termios.tcgetattr(0)\n"
        "subprocess.run([sys.executable] + sys.argv[1:])\n"
        "print('same' if termios.tcgetattr(0) == before else 'changed')\n"
    )
    data = to_json(terminal(make_spec, "true"))
    (tmp_path / "events").mkdir()
    child = pexpect.spawn(
        sys.executable,
        ["-c", script, str(DRIVER), data, str(tmp_path / "events")],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        timeout=10,
    )
    child.expect(pexpect.EOF)
    assert b"same" in child.before
    assert termios.ECHO  # the constant the raw mode clears; keeps the import honest
