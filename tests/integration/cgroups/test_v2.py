"""The v2 driver on this host's real cgroup2 mount: create, join, kill and remove for real.

On a v1 host the mount has no controllers (all are bound to v1), so only the limits are
missing here; the fake hierarchy of the unit tests covers them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from shocker.cgroups import detect
from shocker.cgroups.limits import Limits
from shocker.cgroups.v2 import V2Cgroup

LIMITS = Limits(memory_bytes=64 << 20, cpu_shares=1024, pids_max=32)


def v2_create(root: Path, parent: str, name: str) -> V2Cgroup:
    driver = detect(root)
    assert driver.version == 2
    cgroup = driver.create(parent, name, LIMITS)
    assert isinstance(cgroup, V2Cgroup)
    return cgroup


def test_a_real_cgroup_is_created_joined_and_removed(v2_root: Path, parent_name: str) -> None:
    cgroup = v2_create(v2_root, parent_name, "c1")
    assert (cgroup.directory / "cgroup.controllers").exists()
    if "memory" in (cgroup.directory / "cgroup.controllers").read_text().split():
        assert (cgroup.directory / "memory.max").read_text().strip() == str(64 << 20)
    process = subprocess.Popen(["sleep", "60"])
    try:
        cgroup.add_process(process.pid)
        assert cgroup.pids() == [process.pid]
        membership = Path(f"/proc/{process.pid}/cgroup").read_text().splitlines()
        assert f"0::/{parent_name}/c1" in membership
    finally:
        cgroup.remove()
    assert process.wait(timeout=10) == -9
    assert not cgroup.directory.exists()
    cgroup.remove()


def test_kill_all_empties_a_real_cgroup(v2_root: Path, parent_name: str) -> None:
    cgroup = v2_create(v2_root, parent_name, "c1")
    sleepers = [subprocess.Popen(["sleep", "60"]) for _ in range(3)]
    for process in sleepers:
        cgroup.add_process(process.pid)
    cgroup.kill_all()
    assert [p.wait(timeout=10) for p in sleepers] == [-9, -9, -9]
    assert cgroup.pids() == []
    assert not cgroup.oom_killed()
    cgroup.remove()
    assert not any(p.is_dir() for p in (v2_root / parent_name).iterdir())


def test_the_device_program_lets_only_the_standard_nodes_open(
    v2_root: Path, parent_name: str, tmp_path: Path
) -> None:
    from shocker.cgroups.devices import DEFAULT_RULES, DeviceRule

    tun = DeviceRule(allow=True, type="c", major=10, minor=200, access="r")  # --device ...:r
    # A later rule overrides an earlier one: /dev/full may be read, no longer written.
    no_writes = DeviceRule(allow=False, type="c", major=1, minor=7, access="w")
    rules = (*DEFAULT_RULES, tun, no_writes)
    cgroup = detect(v2_root).create(parent_name, "dev", Limits(pids_max=32, devices=rules))
    (procs,) = cgroup.procs_files()
    script = (
        f"echo $$ > {procs}; "
        f"mknod {tmp_path}/mem c 1 1; mknod {tmp_path}/fuse c 10 229; "
        f"for node in /dev/null /dev/urandom /dev/kmsg {tmp_path}/mem {tmp_path}/fuse; do "
        '  (exec 3<"$node") 2>/dev/null && echo "$node ok" || echo "$node refused"; '
        "done; (exec 3</dev/net/tun) && echo tun-read ok; "
        "(exec 3>/dev/net/tun) || echo tun-write refused; "
        "(exec 3</dev/full) && echo full-read ok; (exec 3>/dev/full) || echo full-write refused"
    )
    try:
        result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30)
    finally:
        cgroup.remove()
    lines = result.stdout.splitlines()
    assert "/dev/null ok" in lines and "/dev/urandom ok" in lines, result
    assert "/dev/kmsg refused" in lines, result
    assert f"{tmp_path}/mem refused" in lines and f"{tmp_path}/fuse refused" in lines, result
    assert "tun-read ok" in lines and "tun-write refused" in lines, result
    assert "full-read ok" in lines and "full-write refused" in lines, result
