"""Whether a container is really running, and how `ps` words its status."""

from __future__ import annotations

from shocker.static import TYPE_CHECKING
from shocker.store.containers import Status

if TYPE_CHECKING:
    from shocker.store.containers import ContainerRecord


def is_running(record: ContainerRecord) -> bool:
    """Recorded as running and its pid 1 is still the same process (guards pid reuse)."""
    if record.state != Status.RUNNING or record.pid is None:
        return False
    from shocker.linux.proc import is_alive

    return is_alive(record.pid, record.pid_start_time)


def state_name(record: ContainerRecord) -> str:
    """Docker's State.Status: created, running, paused, restarting or exited."""
    if is_running(record):
        return str(record.status)  # running or paused
    if record.state in (Status.CREATED, Status.RESTARTING):
        return str(record.state)
    return str(Status.EXITED)
