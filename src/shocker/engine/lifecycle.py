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
    from collections.abc import Callable

    from shocker.cgroups.driver import Cgroup
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


def stop(
    store: Store, settings: Settings, record: ContainerRecord, timeout_s: float | None = None
) -> None:
    """The container's stop signal, then SIGKILL after timeout_s (its --stop-timeout, else
    Docker's 10 s). A restart policy ends here: a stopped container stays stopped."""
    # First of all: a run that ends meanwhile by itself must not be restarted either.
    _mark_stopping(store, record.id)
    try:
        record = store.containers.get(record.id)
    except ShockerError:
        return
    if record.state == "restarting":
        record = _end_pending_restart(store, record)
    if not is_running(record):
        return
    from shocker.engine.launch import stop_signal_number

    if timeout_s is None:
        configured = record.config.stop_timeout
        timeout_s = 10.0 if configured is None else float(configured)
    _mark_stopping(store, record.id)
    stop_signal = stop_signal_number(record.config.stop_signal) or signal.SIGTERM
    try:
        kill(store, settings, record, stop_signal)
    except NotRunning:
        # It ended by itself just now: return once its exit is recorded, as after a stop.
        wait_for_exit(store, record.id, 10)
        return
    # A negative timeout (Docker's -1) waits for as long as it takes.
    if not wait_for_exit(store, record.id, timeout_s if timeout_s >= 0 else None):
        with contextlib.suppress(ShockerError):
            send_signal(store.containers.get(record.id), signal.SIGKILL)
        wait_for_exit(store, record.id, 10)


def _end_pending_restart(store: Store, record: ContainerRecord) -> ContainerRecord:
    """Tell a restart policy's pending start to give up, and wait until it has: the
    container is then exited, or (when its start had begun) running, to be stopped."""
    _mark_stopping(store, record.id)
    deadline = time.monotonic() + 10.0
    while record.state == "restarting" and time.monotonic() < deadline:
        time.sleep(POLL_S)
        try:
            record = store.containers.get(record.id)
        except ShockerError:
            break
    return record


def kill(store: Store, settings: Settings, record: ContainerRecord, signum: int) -> None:
    """Send signum to pid 1; a paused container is thawed so that it can act on it."""
    send_signal(record, signum)
    thaw_after_signal(store, settings, record)


def _mark_stopping(store: Store, container_id: str) -> None:
    """Tell the container's monitor that this exit is wanted: no restart follows."""

    def change(record: ContainerRecord) -> None:
        record.stopping = True

    with contextlib.suppress(ShockerError):
        store.containers.update(container_id, change)


def remove(
    store: Store, settings: Settings, record: ContainerRecord, force: bool, volumes: bool = False
) -> None:
    """Everything the container made goes: process, cgroup, network, subvolume, record;
    with `volumes`, its anonymous volumes too (`rm -v`)."""
    from shocker.engine.teardown import teardown, warn

    if record.state == "restarting":
        _mark_stopping(store, record.id)  # a pending restart must not start it again
    if is_running(record):
        if not force:
            raise Conflict(
                f"You cannot remove a running container {record.id}",
                hint="stop it first or use 'rm -f'",
            )
        _mark_stopping(store, record.id)
        with contextlib.suppress(NotRunning):
            kill(store, settings, record, signal.SIGKILL)
        wait_for_exit(store, record.id, 10)
    # The record goes with the container: the warning is what is left of a failure.
    warn(record.id, teardown(store, settings, record.id))
    store.containers.remove(record.id)
    if volumes:
        from shocker.engine.create import remove_anonymous_volumes

        remove_anonymous_volumes(store, record)


def start(store: Store, settings: Settings, record: ContainerRecord, attach: bool) -> int:
    """Run a stopped container's command again on its existing filesystem."""
    from shocker.engine.launch import launch

    if is_running(record):
        return 0
    if record.state == "running":
        # Supervisor and process died without recording it: clean up first.
        from shocker.engine.teardown import teardown_and_record

        teardown_and_record(store, settings, record.id)
    return launch(store, settings, record, detach=not attach)


def container_cgroup(settings: Settings, container_id: str) -> Cgroup:
    from shocker.cgroups import detect

    return detect(settings.cgroup_root).open(settings.cgroup_parent, container_id)


def pause(store: Store, settings: Settings, record: ContainerRecord) -> None:
    """Freeze every process of a running container (its cgroup's freezer)."""
    if not is_running(record):
        raise NotRunning(f"Container '{record.id}' exists but is not running")
    if record.paused:
        raise Conflict(f"Container '{record.id}' is already paused")
    container_cgroup(settings, record.id).freeze()
    store.containers.update(record.id, _set_paused(True))


def unpause(store: Store, settings: Settings, record: ContainerRecord) -> None:
    if not is_running(record) or not record.paused:
        raise Conflict(f"Container '{record.id}' is not paused")
    container_cgroup(settings, record.id).thaw()
    store.containers.update(record.id, _set_paused(False))


def thaw_after_signal(store: Store, settings: Settings, record: ContainerRecord) -> None:
    """A paused container cannot act on a signal: thaw it once sent (Docker does the same)."""
    if record.paused:
        with contextlib.suppress(ShockerError):
            container_cgroup(settings, record.id).thaw()
        with contextlib.suppress(ShockerError):
            store.containers.update(record.id, _set_paused(False))


def _set_paused(paused: bool) -> Callable[[ContainerRecord], None]:
    from shocker.store.containers import Status

    def change(record: ContainerRecord) -> None:
        if paused:
            record.move_to(Status.PAUSED)
        elif record.status == Status.PAUSED:  # it may have exited meanwhile
            record.move_to(Status.RUNNING)

    return change
