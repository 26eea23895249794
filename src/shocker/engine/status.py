"""Whether a container is really running, and how `ps` words its status."""

from __future__ import annotations

from shocker.static import TYPE_CHECKING
from shocker.store.containers import LIVENESS_LOCK, Status

if TYPE_CHECKING:
    from shocker.store.containers import ContainerRecord


def is_running(record: ContainerRecord) -> bool:
    """Recorded as running, and its supervisor still holds the liveness lock in its metadata
    directory; a container started without one: its pid 1 is still the same process."""
    if record.state != Status.RUNNING or record.pid is None:
        return False
    from shocker.linux.proc import is_alive, lock_held

    if record.directory:
        held = lock_held(f"{record.directory}/{LIVENESS_LOCK}")
        if held is not None:
            return held
    return is_alive(record.pid, record.pid_start_time)


def state_name(record: ContainerRecord) -> str:
    """Docker's State.Status: created, running, paused, restarting or exited."""
    if is_running(record):
        return str(record.status)  # running or paused
    if record.state in (Status.CREATED, Status.RESTARTING):
        return str(record.state)
    return str(Status.EXITED)
