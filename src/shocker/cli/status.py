"""How `ps` and `port` word a container's status and published ports."""

from __future__ import annotations

from shocker.cli.output import ago, duration
from shocker.engine.status import is_running
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.store.container_config import PublishedPort
    from shocker.store.containers import ContainerRecord


def status_text(record: ContainerRecord, now: float | None = None) -> str:
    if is_running(record):
        paused = " (Paused)" if record.paused else ""
        return f"Up {duration(record.started_at, now)}{paused}"
    if record.state == "restarting":
        return f"Restarting ({record.exit_code}) {ago(record.finished_at, now)}"
    if record.state == "created":
        return "Created"
    if record.state == "running":
        # The process is gone and nobody recorded how it ended (its supervisor died too).
        return "Exited (unknown)"
    code = "?" if record.exit_code is None else str(record.exit_code)
    oom = " (OOM killed)" if record.oom_killed else ""
    return f"Exited ({code}){oom} {ago(record.finished_at, now)}"


def port_line(mapping: PublishedPort) -> str:
    host_ip = mapping.host_ip or "0.0.0.0"
    return f"{host_ip}:{mapping.host_port}->{mapping.container_port}/{mapping.protocol}"


def ports_text(ports: tuple[PublishedPort, ...]) -> str:
    return ", ".join(port_line(m) for m in ports)
