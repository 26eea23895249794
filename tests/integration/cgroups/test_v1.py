"""The v1 driver on this host's real hierarchies: limits the kernel reads back and enforces."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from shocker.cgroups import detect
from shocker.cgroups.limits import Limits
from shocker.cgroups.v1 import V1Cgroup
from tests.integration.cgroups.conftest import CGROUP_ROOT

# Waits for a line, then allocates and touches 128 MB: the line comes once it is inside.
HOG = "import sys; sys.stdin.readline(); data = b'x' * (128 << 20); print('survived')"
# Waits for a line, then tries 50 forks; the children sleep until they are killed.
FORKER = """
import os, sys, time
sys.stdin.readline()
forked = 0
for _ in range(50):
    try:
        pid = os.fork()
    except OSError:
        continue
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    forked += 1
print(forked, flush=True)
sys.stdin.readline()
"""


def v1_create(parent: str, name: str, limits: Limits) -> V1Cgroup:
    driver = detect(CGROUP_ROOT)
    assert driver.version == 1
    cgroup = driver.create(parent, name, limits)
    assert isinstance(cgroup, V1Cgroup)
    return cgroup


def start_inside(cgroup: V1Cgroup, code: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    cgroup.add_process(process.pid)
    return process


def test_limits_are_readable_back_from_the_kernels_files(v1_parent: str) -> None:
    limits = Limits(memory_bytes=48 << 20, cpu_shares=256, cpu_quota_cores=0.5, pids_max=64)
    cgroup = v1_create(v1_parent, "c1", limits)
    memory, cpu, pids = cgroup.dirs["memory"], cgroup.dirs["cpu"], cgroup.dirs["pids"]
    assert (memory / "memory.limit_in_bytes").read_text().strip() == str(48 << 20)
    memsw = memory / "memory.memsw.limit_in_bytes"
    if memsw.exists():
        assert memsw.read_text().strip() == str(48 << 20)
    assert (cpu / "cpu.shares").read_text().strip() == "256"
    assert (cpu / "cpu.cfs_period_us").read_text().strip() == "100000"
    assert (cpu / "cpu.cfs_quota_us").read_text().strip() == "50000"
    assert (pids / "pids.max").read_text().strip() == "64"
    cgroup.remove()


def test_a_process_over_its_memory_limit_is_oom_killed_and_reported(v1_parent: str) -> None:
    cgroup = v1_create(v1_parent, "hog", Limits(memory_bytes=32 << 20, pids_max=16))
    assert not cgroup.oom_killed()
    process = start_inside(cgroup, HOG)
    assert cgroup.pids() == [process.pid]
    out, _ = process.communicate("go\n", timeout=60)
    assert process.returncode == -9
    assert "survived" not in out
    assert cgroup.oom_killed()
    cgroup.remove()


def test_the_pids_limit_stops_a_fork_loop(v1_parent: str) -> None:
    cgroup = v1_create(v1_parent, "forks", Limits(pids_max=10))
    process = start_inside(cgroup, FORKER)
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("go\n")
    process.stdin.flush()
    forked = int(process.stdout.readline())
    # The forker itself is one of the ten tasks.
    assert 0 < forked <= 9
    assert len(cgroup.pids()) == forked + 1
    cgroup.remove()
    assert process.wait(timeout=10) == -9


def test_remove_kills_what_runs_inside_and_leaves_nothing(v1_parent: str) -> None:
    cgroup = v1_create(v1_parent, "c1", Limits(memory_bytes=64 << 20, pids_max=10))
    process = subprocess.Popen(["sleep", "60"])
    cgroup.add_process(process.pid)
    cgroup.remove()
    assert process.wait(timeout=10) == -9
    for directory in cgroup.dirs.values():
        assert not directory.exists()
        assert directory.parent.is_dir()
    cgroup.remove()


def test_kill_all_empties_the_cgroup(v1_parent: str) -> None:
    cgroup = v1_create(v1_parent, "c1", Limits(pids_max=10))
    sleepers = [subprocess.Popen(["sleep", "60"]) for _ in range(3)]
    for process in sleepers:
        cgroup.add_process(process.pid)
    assert len(cgroup.pids()) == 3
    cgroup.kill_all()
    assert [p.wait(timeout=10) for p in sleepers] == [-9, -9, -9]
    assert cgroup.pids() == []
    cgroup.remove()


def test_exec_joins_through_the_procs_files_of_an_opened_cgroup(v1_parent: str) -> None:
    created = v1_create(v1_parent, "c1", Limits(memory_bytes=64 << 20))
    opened = detect(CGROUP_ROOT).open(v1_parent, "c1")
    assert opened.procs_files() == created.procs_files()
    process = subprocess.Popen(["sleep", "60"])
    try:
        opened.add_process(process.pid)
        assert created.pids() == [process.pid]
        membership = Path(f"/proc/{process.pid}/cgroup").read_text()
        assert f"memory:/{v1_parent}/c1" in membership
    finally:
        process.kill()
        process.wait()
    created.remove()


def test_fifty_concurrent_creates_under_one_new_parent_all_succeed(v1_parent: str) -> None:
    def create(i: int) -> V1Cgroup:
        return v1_create(v1_parent, f"c{i}", Limits(memory_bytes=64 << 20, pids_max=64))

    with ThreadPoolExecutor(max_workers=16) as pool:
        cgroups = list(pool.map(create, range(50)))
    assert all(d.is_dir() for c in cgroups for d in c.dirs.values())
    for cgroup in cgroups:
        cgroup.remove()
    assert not any(p.is_dir() for p in (CGROUP_ROOT / "memory" / v1_parent).iterdir())
