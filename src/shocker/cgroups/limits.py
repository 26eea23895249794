"""Resource limits as data, and the parsing of the flags that set them."""

from __future__ import annotations

import math
import re

from shocker.cgroups.devices import DeviceRule
from shocker.errors import UsageError
from shocker.record import record

# Compiled on first use, not at import (see shocker.store.containers).
_MEMORY = r"(\d+(?:\.\d+)?)\s*(?:([kmgt])b?|b)?"
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
CFS_PERIOD_US = 100_000


@record(frozen=True)
class Limits:
    """What one container may use; None leaves the kernel's default (unlimited)."""

    memory_bytes: int | None = None
    # Memory plus swap (an OCI spec's memory.swap; -1: unlimited); None: the memory limit,
    # so a container is OOM-killed at its limit instead of swapping.
    memory_swap_bytes: int | None = None
    cpu_shares: int | None = None
    cpu_quota_cores: float | None = None
    # The CFS period the quota is counted in (an OCI spec's cpu.period); None: 100 ms.
    cpu_period_us: int | None = None
    pids_max: int | None = None
    # The device nodes it may make and open; None: any (--privileged).
    devices: tuple[DeviceRule, ...] | None = None


def parse_memory(text: str) -> int:
    """`512m`, `1g`, `1048576`, `100k` (Docker's units, powers of 1024) -> bytes."""
    match = re.fullmatch(_MEMORY, text.strip(), re.IGNORECASE)
    if not match:
        raise UsageError(f"invalid memory limit '{text}': use a number with b, k, m or g")
    value = int(float(match.group(1)) * _UNITS[(match.group(2) or "").lower()])
    if value <= 0:
        raise UsageError(f"invalid memory limit '{text}': it must be more than 0")
    return value


# Docker's and Podman's floor (moby daemon/daemon_unix.go linuxMinMemory): with less, the
# kernel's OOM killer ends the container's first process before it does anything.
MIN_MEMORY = 6 * 2**20


def check_memory_floor(value: int, source: str, hint: str) -> int:
    """`value` bytes, unless below the 6 MiB every container needs (`source` names the flag
    or variable that set it)."""
    if value < MIN_MEMORY:
        raise UsageError(
            f"{source}: {value} bytes is below the minimum memory limit allowed, 6MB", hint
        )
    return value


def parse_cpus(text: str) -> float:
    """`--cpus 1.5` -> 1.5 cores of CFS quota."""
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"invalid value for --cpus: '{text}' is not a number") from None
    if not value > 0 or math.isinf(value):
        raise UsageError(f"invalid value for --cpus: '{text}' must be positive")
    return value


def shares_to_weight(shares: int) -> int:
    """cgroup v1 cpu.shares -> v2 cpu.weight, as current runc converts them.

    A quadratic in log2(shares) through the three fixed points 2 -> 1, 1024 -> 100 (both
    defaults) and 262144 -> 10000 (runc's ConvertCPUSharesToCgroupV2Value); the older linear
    formula mapped the default 1024 to 39, starving containers beside v2 services.
    """
    if shares <= 0:
        return 0
    if shares <= 2:
        return 1
    if shares >= 262144:
        return 10000
    log = math.log2(shares)
    exponent = (log * log + 125 * log) / 612.0 - 7.0 / 34.0
    return math.ceil(10**exponent)


def quota_us(cores: float, period_us: int = CFS_PERIOD_US) -> int:
    """CFS quota per period (100 ms by default) for `cores`; the kernel refuses less than 1 ms."""
    return max(1000, round(cores * period_us))
