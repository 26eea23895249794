"""cgroup limits through `run`: defaults, flags, OOM and fork bombs contained."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.shocker import Shocker


def test_memory_hog_over_its_limit_is_oom_killed_and_ps_says_so(
    shocker: Shocker, busybox_id: str, containers: list[str]
) -> None:
    # pid 1 itself (the shell) grows past the limit: the kernel kills it.
    result = shocker(
        "run",
        "--name",
        "hog",
        "--memory",
        "32m",
        busybox_id,
        "sh",
        "-c",
        'a=$(head -c 300000000 /dev/zero | tr "\\0" x); echo survived',
        timeout_s=60,
    )
    containers.append("hog")
    assert result.rc == 137, str(result)
    row = [ln for ln in shocker("ps").check().lines if " hog " in ln]
    assert row and "OOM" in row[0], row


def test_fork_bomb_is_stopped_by_the_pids_limit(shocker: Shocker, busybox_id: str) -> None:
    container_id = (
        shocker(
            "run",
            "-d",
            "--pids-limit",
            "20",
            busybox_id,
            "sh",
            "-c",
            "(for i in $(seq 1 100); do sleep 30 & done) 2>/dev/null; exec sleep 30",
        )
        .check()
        .lines[-1]
    )
    try:
        time.sleep(2)
        parent = shocker.env["SHOCKER_CGROUP_PARENT"]
        v1 = Path("/sys/fs/cgroup/pids") / parent / container_id / "cgroup.procs"
        procs = (
            v1 if v1.exists() else Path("/sys/fs/cgroup") / parent / container_id / "cgroup.procs"
        )
        assert procs.exists(), shocker("logs", container_id).out + shocker("ps").out
        count = len(procs.read_text().split())
        assert 1 < count <= 20
    finally:
        shocker("rm", "-f", container_id).check()


def test_default_limits_come_from_the_environment(shocker: Shocker, busybox_id: str) -> None:
    limited = shocker.with_env(SHOCKER_MEM_LIMIT="64", SHOCKER_CPU_SHARE="512")
    result = limited("run", "-d", busybox_id, "sleep", "30").check()
    container_id = result.lines[-1]
    try:
        parent = shocker.env["SHOCKER_CGROUP_PARENT"]
        memory_v1 = Path("/sys/fs/cgroup/memory") / parent / container_id
        if memory_v1.exists():
            assert int((memory_v1 / "memory.limit_in_bytes").read_text()) == 64 * 2**20
            shares = Path("/sys/fs/cgroup/cpu") / parent / container_id / "cpu.shares"
            assert int(shares.read_text()) == 512
            pids = Path("/sys/fs/cgroup/pids") / parent / container_id / "pids.max"
            assert pids.read_text().strip() == "4096"
        else:
            unified = Path("/sys/fs/cgroup") / parent / container_id
            assert int((unified / "memory.max").read_text()) == 64 * 2**20
    finally:
        shocker("rm", "-f", container_id)


def test_a_memory_limit_without_a_unit_below_6mb_is_refused(
    shocker: Shocker, busybox_id: str
) -> None:
    # `-m 64` is 64 bytes, as in Docker: refused before anything is made, not OOM-killed.
    before = shocker("ps", "-a", "-q").check().lines
    result = shocker("run", "--rm", "-m", "64", "--network", "none", busybox_id, "true")
    assert result.rc == 125, str(result)
    assert "minimum memory limit allowed, 6MB" in result.err
    assert len(result.err.strip().splitlines()) <= 2, result.err  # the message and its hint
    assert shocker("ps", "-a", "-q").check().lines == before
