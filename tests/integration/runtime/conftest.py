"""Fixtures for runtime tests: a busybox rootfs in a tmp dir, a client driver, and a guard
that fails a test leaving a mount or a container process behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.runtime.processes import DRIVER, SRC, Client, container_processes
from tests.integration.runtime.starts import Start, container, to_json

BUSYBOX = Path("/bin/busybox")
APPLETS = (
    "sh",
    "cat",
    "ls",
    "id",
    "hostname",
    "ps",
    "mount",
    "sleep",
    "grep",
    "echo",
    "true",
    "false",
    "tty",
    "stty",
    "env",
    "pwd",
    "readlink",
    "wc",
    "head",
    "touch",
    "mkdir",
    "ulimit",
    "trap",
    "ip",
    "ifconfig",
)


def _require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("SHOCKER_TEST_STRICT") == "1":
        pytest.fail(f"missing prerequisite: {reason}")
    pytest.skip(reason)


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    """A minimal image: busybox-static, its applets, root and nobody users."""
    _require(os.geteuid() == 0, "needs root")
    _require(BUSYBOX.exists(), "needs busybox-static")
    root = tmp_path / "rootfs"
    for directory in ("bin", "etc", "mnt", "tmp", "root"):
        (root / directory).mkdir(parents=True)
    shutil.copy2(BUSYBOX, root / "bin/busybox")
    for applet in APPLETS:
        (root / "bin" / applet).symlink_to("busybox")
    (root / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
    )
    (root / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\n")
    return root


@pytest.fixture
def make_spec(rootfs: Path, tmp_path: Path) -> Callable[..., Start]:
    """make_spec(*argv, **options): starts.container's options."""

    def make(*argv: str, **changes: Any) -> Start:
        return container(rootfs, tmp_path / "container.log", *argv, **changes)

    return make


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Callable[..., Client]]:
    started: list[subprocess.Popen[bytes]] = []

    def launch(
        start: Start,
        *,
        detach: bool = False,
        exit_command: list[str] | None = None,
        **popen: Any,
    ) -> Client:
        events = tmp_path / f"events{len(started)}"
        events.mkdir()
        data = to_json(start, detach=detach, exit_command=exit_command)
        env = {**os.environ, "PYTHONPATH": str(SRC)}
        process = subprocess.Popen(
            [sys.executable, str(DRIVER), data, str(events)], env=env, **popen
        )
        started.append(process)
        return Client(process, events)

    yield launch
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


def _mounts() -> set[str]:
    return set(Path("/proc/self/mounts").read_text().splitlines())


@pytest.fixture(autouse=True)
def leak_guard(tmp_path: Path) -> Iterator[None]:
    """Fail the test that leaves a host mount or a process inside one of its rootfs."""
    before = _mounts()
    yield
    root = tmp_path / "rootfs"
    deadline = time.monotonic() + 10
    while (left := container_processes(root)) and time.monotonic() < deadline:
        time.sleep(0.02)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    # Only mounts under this test's directory: other work on the host may mount meanwhile.
    new_mounts = {m for m in _mounts() - before if str(tmp_path) in m}
    assert not left, f"container processes left running: {left}"
    assert not new_mounts, f"mounts left on the host: {new_mounts}"
