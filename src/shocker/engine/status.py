"""Whether a container is really running, and how `ps` words its status."""

from __future__ import annotations

from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.store.containers import ContainerRecord


def is_running(record: ContainerRecord) -> bool:
    """Recorded as running and its pid 1 is still the same process (guards pid reuse)."""
    if record.state != "running" or record.pid is None:
        return False
    from shocker.linux.proc import is_alive

    return is_alive(record.pid, record.pid_start_time)


def state_name(record: ContainerRecord) -> str:
    """Docker's State.Status: created, running, paused, restarting or exited."""
    if is_running(record):
        return "paused" if record.paused else "running"
    if record.state == "created":
        return "created"
    if record.state == "restarting":
        return "restarting"
    return "exited"
