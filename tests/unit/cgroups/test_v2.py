"""The v2 driver against a fake unified hierarchy in tmp_path."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shocker.cgroups import detect
from shocker.cgroups.limits import Limits
from shocker.cgroups.v2 import V2Driver
from shocker.errors import CgroupError

LIMITS = Limits(memory_bytes=64 * 2**20, cpu_shares=1024, cpu_quota_cores=1.5, pids_max=100)


def fake_root(path: Path, controllers: str = "cpuset cpu io memory hugetlb pids rdma") -> Path:
    (path / "cgroup.controllers").write_text(controllers + "\n")
    (path / "cgroup.subtree_control").write_text("\n")
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return fake_root(tmp_path)


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(["sleep", "60"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def enabled(control: Path) -> set[str]:
    return {word.lstrip("+") for word in control.read_text().split()}


def test_a_root_with_cgroup_controllers_is_driven_as_v2(root: Path) -> None:
    assert detect(root).version == 2


def test_a_quota_in_its_own_period(root: Path) -> None:
    V2Driver(root).create("shocker", "c1", Limits(cpu_quota_cores=0.25, cpu_period_us=200_000))
    assert (root / "shocker/c1/cpu.max").read_text() == "50000 200000"


def test_create_writes_the_limits_in_v2_terms(root: Path) -> None:
    cgroup = V2Driver(root).create("shocker", "c1", LIMITS)
    leaf = root / "shocker/c1"
    assert (leaf / "memory.max").read_text() == str(64 * 2**20)
    assert (leaf / "cpu.weight").read_text() == "100"
    assert (leaf / "cpu.max").read_text() == "150000 100000"
    assert (leaf / "pids.max").read_text() == "100"
    assert cgroup.path_description == "shocker/c1"
    assert cgroup.procs_files() == (leaf / "cgroup.procs",)


def test_controllers_are_enabled_from_the_root_down_to_the_parent(root: Path) -> None:
    V2Driver(root).create("a/b", "c1", LIMITS)
    for directory in (root, root / "a", root / "a/b"):
        assert enabled(directory / "cgroup.subtree_control") == {"memory", "cpu", "pids"}
    assert not (root / "a/b/c1/cgroup.subtree_control").exists()


def test_controllers_already_enabled_are_not_written_again(root: Path) -> None:
    (root / "cgroup.subtree_control").write_text("cpu memory pids io\n")
    V2Driver(root).create("shocker", "c1", LIMITS)
    assert (root / "cgroup.subtree_control").read_text() == "cpu memory pids io\n"


def test_a_controller_the_host_lacks_is_skipped_without_failing(tmp_path: Path) -> None:
    root = fake_root(tmp_path, controllers="cpu io memory")
    V2Driver(root).create("shocker", "c1", LIMITS)
    assert enabled(root / "cgroup.subtree_control") == {"memory", "cpu"}
    assert (root / "shocker/c1/memory.max").exists()
    assert not (root / "shocker/c1/pids.max").exists()


def test_a_hierarchy_with_no_controllers_still_gets_a_cgroup(tmp_path: Path) -> None:
    root = fake_root(tmp_path, controllers="")
    cgroup = V2Driver(root).create("shocker", "c1", LIMITS)
    assert list((root / "shocker/c1").iterdir()) == []
    assert cgroup.memory_usage_bytes() is None
    assert not cgroup.oom_killed()


def test_a_memory_limit_that_cannot_be_enabled_is_an_error(root: Path) -> None:
    parent = root / "shocker"
    parent.mkdir()
    # A directory where the control file should be: every write to it fails.
    (parent / "cgroup.subtree_control").mkdir()
    with pytest.raises(CgroupError, match="cannot enable memory limits"):
        V2Driver(root).create("shocker", "c1", LIMITS)


def test_other_controllers_that_cannot_be_enabled_are_skipped(root: Path) -> None:
    parent = root / "shocker"
    parent.mkdir()
    (parent / "cgroup.subtree_control").mkdir()
    V2Driver(root).create("shocker", "c1", Limits(cpu_shares=1024, pids_max=10))
    assert list((parent / "c1").iterdir()) == []


def test_swap_is_capped_at_zero_where_swap_accounting_exists(root: Path) -> None:
    leaf = root / "shocker/c1"
    leaf.mkdir(parents=True)
    (leaf / "memory.swap.max").write_text("max\n")
    V2Driver(root).create("shocker", "c1", LIMITS)
    assert (leaf / "memory.swap.max").read_text() == "0"


@pytest.mark.parametrize(("swap", "swap_max"), [(96 * 2**20, str(32 * 2**20)), (-1, "max")])
def test_swap_is_what_the_memory_and_swap_limit_leaves(
    root: Path, swap: int, swap_max: str
) -> None:
    leaf = root / "shocker/c1"
    leaf.mkdir(parents=True)
    (leaf / "memory.swap.max").write_text("max\n")
    limits = Limits(memory_bytes=64 * 2**20, memory_swap_bytes=swap)
    V2Driver(root).create("shocker", "c1", limits)
    assert (leaf / "memory.swap.max").read_text() == swap_max


@pytest.mark.parametrize(
    ("events", "killed"),
    [
        ("low 0\nhigh 0\nmax 12\noom 1\noom_kill 0\n", False),
        ("low 0\nhigh 0\nmax 12\noom 1\noom_kill 2\noom_group_kill 0\n", True),
    ],
)
def test_oom_kills_are_read_from_memory_events(root: Path, events: str, killed: bool) -> None:
    cgroup = V2Driver(root).create("shocker", "c1", LIMITS)
    (root / "shocker/c1/memory.events").write_text(events)
    assert cgroup.oom_killed() is killed


def test_memory_usage_and_pids_are_read_from_the_cgroup(root: Path) -> None:
    cgroup = V2Driver(root).create("shocker", "c1", LIMITS)
    (root / "shocker/c1/memory.current").write_text("8192\n")
    (root / "shocker/c1/cgroup.procs").write_text("12\n7\n")
    opened = V2Driver(root).open("shocker", "c1")
    assert opened.memory_usage_bytes() == 8192
    assert opened.pids() == [7, 12]
    assert cgroup.pids() == [7, 12]


def test_without_cgroup_kill_each_listed_process_is_killed(
    root: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    cgroup = V2Driver(root).create("shocker", "c1", LIMITS)
    cgroup.add_process(sleeper.pid)
    cgroup.kill_all()
    assert sleeper.wait(timeout=10) == -9


def test_cgroup_kill_is_used_where_the_kernel_has_it(root: Path) -> None:
    cgroup = V2Driver(root).create("shocker", "c1", LIMITS)
    (root / "shocker/c1/cgroup.kill").write_text("")
    cgroup.kill_all()
    assert (root / "shocker/c1/cgroup.kill").read_text() == "1"


def test_remove_deletes_the_cgroup_and_is_idempotent(root: Path) -> None:
    cgroup = V2Driver(root).create("shocker", "c1", LIMITS)
    cgroup.remove()
    assert not (root / "shocker/c1").exists()
    assert (root / "shocker").is_dir()
    cgroup.remove()


def test_a_failed_limit_undoes_the_creation(root: Path) -> None:
    leaf = root / "shocker/c1"
    leaf.mkdir(parents=True)
    (leaf / "pids.max").symlink_to(root / "missing/pids.max")
    with pytest.raises(CgroupError, match="cannot set pids limit"):
        V2Driver(root).create("shocker", "c1", LIMITS)
    assert not leaf.exists()


def test_fifty_concurrent_creates_under_one_new_parent_all_succeed(root: Path) -> None:
    driver = V2Driver(root)
    with ThreadPoolExecutor(max_workers=16) as pool:
        cgroups = list(pool.map(lambda i: driver.create("shocker", f"c{i}", LIMITS), range(50)))
    assert len({c.path_description for c in cgroups}) == 50
    assert all((root / f"shocker/c{i}/memory.max").exists() for i in range(50))
