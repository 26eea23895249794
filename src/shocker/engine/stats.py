"""`stats`: what running containers use, from their cgroups and network namespaces, as the
Docker CLI computes its columns (CPU % from two samples; memory without inactive cache)."""

from __future__ import annotations

import time

from shocker.engine.lifecycle import container_cgroup
from shocker.engine.status import is_running
from shocker.errors import ShockerError
from shocker.record import record
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.settings import Settings
    from shocker.store.containers import ContainerRecord


@record(frozen=True)
class Sample:
    """One reading of a container; every counter 0 when it is not running."""

    id: str
    name: str
    taken_ns: int  # time.monotonic_ns() of the reading
    running: bool
    cpu_ns: int = 0
    memory_bytes: int = 0
    memory_limit_bytes: int = 0
    net_received_bytes: int = 0
    net_sent_bytes: int = 0
    block_read_bytes: int = 0
    block_write_bytes: int = 0
    pids: int = 0


def sample(settings: Settings, record: ContainerRecord) -> Sample:
    name = record.name or record.id
    now = time.monotonic_ns()
    if not is_running(record) or record.pid is None:
        return Sample(record.id, name, now, running=False)
    try:
        usage = container_cgroup(settings, record.id).usage()
    except ShockerError:
        return Sample(record.id, name, now, running=False)
    received = sent = 0
    if record.config.network != "host":
        from shocker.linux.proc import net_dev_bytes

        try:
            with open(f"/proc/{record.pid}/net/dev") as dev:
                received, sent = net_dev_bytes(dev.read())
        except OSError:
            pass  # pid 1 just exited
    limit = usage.memory_limit_bytes
    if limit is None:
        from shocker.cgroups.usage import host_memory_bytes

        limit = host_memory_bytes() or 0
    return Sample(
        record.id,
        name,
        now,
        running=True,
        cpu_ns=usage.cpu_ns,
        memory_bytes=usage.memory_bytes,
        memory_limit_bytes=limit,
        net_received_bytes=received,
        net_sent_bytes=sent,
        block_read_bytes=usage.block_read_bytes,
        block_write_bytes=usage.block_write_bytes,
        pids=usage.pids,
    )


def cpu_percent(before: Sample | None, after: Sample) -> float:
    """CPU time used between two samples over the wall time between them, in percent of
    one CPU: Docker's cpu_delta / system_delta * online_cpus * 100, where the system delta
    is every CPU's time over the same interval."""
    if before is None or not after.running or after.taken_ns <= before.taken_ns:
        return 0.0
    used = max(after.cpu_ns - before.cpu_ns, 0)
    return used / (after.taken_ns - before.taken_ns) * 100.0


def memory_percent(current: Sample) -> float:
    if not current.memory_limit_bytes:
        return 0.0
    return current.memory_bytes / current.memory_limit_bytes * 100.0
