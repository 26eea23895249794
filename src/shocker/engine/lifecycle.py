"""stop, kill, wait, start, remove: what happens to a container after `run`."""

from __future__ import annotations

import contextlib
import os
import signal
import time

from shocker.engine.status import is_running
from shocker.errors import Conflict, NotRunning, ShockerError, UsageError
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.settings import Settings
    from shocker.store.containers import ContainerRecord
    from shocker.store.store import Store

POLL_S = 0.01


def parse_signal(text: str) -> int:
    name = text.upper()
    if name.isdigit():
        return int(name)
    if not name.startswith("SIG"):
        name = "SIG" + name
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise UsageError(f"invalid signal '{text}'") from None


def send_signal(record: ContainerRecord, signum: int) -> None:
    if not is_running(record) or record.pid is None:
        raise NotRunning(f"Container '{record.id}' exists but is not running")
    try:
        os.kill(record.pid, signum)
    except ProcessLookupError:
        raise NotRunning(f"Container '{record.id}' exists but is not running") from None


def wait_for_exit(store: Store, container_id: str, timeout_s: float | None = None) -> bool:
    """Until pid 1 is gone and its supervisor has recorded the end (or died); True if so."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        try:
            record = store.containers.get(container_id)
        except ShockerError:
            return True  # removed (--rm)
        if not is_running(record) and not _supervisor_busy(record):
            return True
        if deadline is not None and time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)


def _supervisor_busy(record: ContainerRecord) -> bool:
    """The supervisor is still recording the exit (it writes state, then exits)."""
    if record.state != "running" or record.supervisor_pid is None:
        return False
    from shocker.linux.proc import is_alive

    return is_alive(record.supervisor_pid, None)


def stop(store: Store, record: ContainerRecord, timeout_s: float) -> None:
    """The container's stop signal, then SIGKILL after timeout_s (Docker's default 10 s)."""
    if not is_running(record):
        return
    from shocker.engine.launch import stop_signal_number

    stop_signal = stop_signal_number(record.config.get("stop_signal")) or signal.SIGTERM
    try:
        send_signal(record, stop_signal)
    except NotRunning:
        return
    if not wait_for_exit(store, record.id, timeout_s):
        with contextlib.suppress(ShockerError):
            send_signal(store.containers.get(record.id), signal.SIGKILL)
        wait_for_exit(store, record.id, 10)


def remove(store: Store, settings: Settings, record: ContainerRecord, force: bool) -> None:
    """Everything the container made goes: process, cgroup, network, subvolume, record."""
    from shocker.engine.teardown import teardown

    if is_running(record):
        if not force:
            raise Conflict(
                f"You cannot remove a running container {record.id}",
                hint="stop it first or use 'rm -f'",
            )
        with contextlib.suppress(NotRunning):
            send_signal(record, signal.SIGKILL)
        wait_for_exit(store, record.id, 10)
    teardown(store, settings, record.id)
    store.containers.remove(record.id)


def start(store: Store, settings: Settings, record: ContainerRecord, attach: bool) -> int:
    """Run a stopped container's command again on its existing filesystem."""
    from shocker.engine.launch import launch

    if is_running(record):
        return 0
    if record.state == "running":
        # Supervisor and process died without recording it: clean up first.
        from shocker.engine.teardown import teardown

        teardown(store, settings, record.id)
    return launch(store, settings, record, detach=not attach)
