"""Where the no-op migration writes: the cgroup this process is already in."""

from __future__ import annotations

from pathlib import Path

import pytest

from shocker.cgroups.warmup import own_procs_file, prime_migration

V1_SELF = "12:pids:/user.slice\n4:memory:/user.slice\n3:cpu,cpuacct:/\n0::/\n"


def test_v1_uses_the_pids_hierarchy(tmp_path: Path) -> None:
    (tmp_path / "pids").mkdir()
    (tmp_path / "memory").mkdir()
    assert own_procs_file(tmp_path, V1_SELF) == tmp_path / "pids/user.slice/cgroup.procs"


def test_v1_without_pids_falls_back_to_memory(tmp_path: Path) -> None:
    (tmp_path / "memory").mkdir()
    assert own_procs_file(tmp_path, V1_SELF) == tmp_path / "memory/user.slice/cgroup.procs"


def test_v2_uses_the_unified_line(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    assert own_procs_file(tmp_path, "0::/session/app\n") == tmp_path / "session/app/cgroup.procs"


def test_nothing_to_prime_without_a_known_hierarchy(tmp_path: Path) -> None:
    assert own_procs_file(tmp_path, "3:cpu,cpuacct:/\n") is None


def test_priming_a_fake_tree_writes_our_pid_and_waits(tmp_path: Path) -> None:
    import os

    (tmp_path / "cgroup.controllers").write_text("")
    own = Path("/proc/self/cgroup").read_text()
    unified = [line for line in own.splitlines() if line.startswith("0::")]
    if not unified:
        pytest.skip("this host's /proc/self/cgroup has no unified line")
    target = tmp_path / unified[0].split(":", 2)[2].lstrip("/") / "cgroup.procs"
    target.parent.mkdir(parents=True, exist_ok=True)
    prime_migration(tmp_path)()
    assert target.read_text() == str(os.getpid())
