"""What a container's cgroup has used: the numbers `stats` reports, read from either version.

v1: cpuacct.usage, memory.usage_in_bytes and memory.stat, blkio.throttle.io_service_bytes,
pids.current (Documentation/admin-guide/cgroup-v1/). v2: cpu.stat, memory.current and
memory.stat, io.stat, pids.current (Documentation/admin-guide/cgroup-v2.rst).
"""

from __future__ import annotations

from pathlib import Path

from shocker.record import record


@record(frozen=True)
class CgroupUsage:
    cpu_ns: int  # CPU time of every task, user + system
    memory_bytes: int  # without the inactive page cache, as Docker's CLI shows it
    memory_limit_bytes: int | None  # None: no limit below the host's memory
    block_read_bytes: int
    block_write_bytes: int
    pids: int


def read_text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def keyed(text: str) -> dict[str, int]:
    """`key value` lines (memory.stat, cpu.stat) as a dict; lines that are not are skipped."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            values[key] = int(value)
    return values


def number(path: Path) -> int | None:
    text = read_text(path).strip()
    return int(text) if text.isdigit() else None


def v1_block_bytes(text: str) -> tuple[int, int]:
    """(read, write) from blkio.throttle.io_service_bytes: `MAJ:MIN Read N` lines per device."""
    read = write = 0
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2].isdigit():
            if parts[1] == "Read":
                read += int(parts[2])
            elif parts[1] == "Write":
                write += int(parts[2])
    return read, write


def v2_block_bytes(text: str) -> tuple[int, int]:
    """(read, write) from io.stat: `MAJ:MIN rbytes=N wbytes=N ...` lines per device."""
    read = write = 0
    for line in text.splitlines():
        for word in line.split()[1:]:
            key, _, value = word.partition("=")
            if value.isdigit():
                if key == "rbytes":
                    read += int(value)
                elif key == "wbytes":
                    write += int(value)
    return read, write


def without_cache(usage: int, stat: dict[str, int], key: str) -> int:
    """Docker's CLI: usage minus the inactive file cache (total_inactive_file on v1)."""
    inactive = stat.get(key, 0)
    return usage - inactive if inactive < usage else usage


def effective_limit(limit: int | None) -> int | None:
    """A limit at or above the host's memory is no limit (v1 reports 2^63 rounded down)."""
    if limit is None:
        return None
    total = host_memory_bytes()
    return None if total is not None and limit >= total else limit


def host_memory_bytes() -> int | None:
    for line in read_text(Path("/proc/meminfo")).splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return None
