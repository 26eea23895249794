"""stats: Docker's size strings, CPU percent from two samples, /proc/PID/net/dev sums."""

from __future__ import annotations

import pytest

from shocker.cli.commands.stats import binary_size, decimal_size
from shocker.engine.stats import Sample, cpu_percent, memory_percent
from shocker.linux.proc import net_dev_bytes

NET_DEV = "\n".join(
    [
        "Inter-|   Receive                            |  Transmit",
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets",
        "    lo:    5000      10    0    0    0     0          0         0     5000      10",
        "  eth0:    1234       7    0    0    0     0          0         0      567       5",
    ]
)


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0B"),
        (1023, "1023B"),
        (64 * 2**20, "64MiB"),
        (12.3 * 2**20, "12.3MiB"),
        (1536, "1.5KiB"),
        (2**30 * 1.25, "1.25GiB"),
    ],
)
def test_binary_sizes_as_docker_prints_memory(size: float, text: str) -> None:
    assert binary_size(size) == text


@pytest.mark.parametrize(
    ("size", "text"), [(0, "0B"), (999, "999B"), (1234, "1.23kB"), (12_345_678, "12.3MB")]
)
def test_decimal_sizes_as_docker_prints_io(size: float, text: str) -> None:
    assert decimal_size(size) == text


def test_net_dev_sums_every_interface_but_loopback() -> None:
    assert net_dev_bytes(NET_DEV) == (1234, 567)


def test_cpu_percent_is_cpu_time_over_wall_time() -> None:
    before = Sample("ps-1", "a", 0, running=True, cpu_ns=0)
    after = Sample("ps-1", "a", 10**9, running=True, cpu_ns=5 * 10**8)
    assert cpu_percent(before, after) == 50.0
    assert cpu_percent(None, after) == 0.0
    stopped = Sample("ps-1", "a", 2 * 10**9, running=False)
    assert cpu_percent(after, stopped) == 0.0


def test_memory_percent_of_the_limit() -> None:
    sample = Sample("ps-1", "a", 0, running=True, memory_bytes=16, memory_limit_bytes=64)
    assert memory_percent(sample) == 25.0
