"""The v1 driver against a fake cgroupfs: one directory per hierarchy in tmp_path."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shocker.cgroups import detect
from shocker.cgroups.limits import Limits
from shocker.cgroups.v1 import V1Driver, hierarchies
from shocker.errors import CgroupError

LIMITS = Limits(memory_bytes=64 * 2**20, cpu_shares=512, cpu_quota_cores=1.5, pids_max=100)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Debian's layout: cpu and cpuacct co-mounted, with a symlink per controller."""
    for name in ("memory", "cpu,cpuacct", "pids", "freezer", "systemd", "unified"):
        (tmp_path / name).mkdir()
    (tmp_path / "cpu").symlink_to("cpu,cpuacct")
    (tmp_path / "cpuacct").symlink_to("cpu,cpuacct")
    # Present at every level of the memory hierarchy when swap accounting is on.
    (tmp_path / "memory" / "memory.memsw.limit_in_bytes").write_text("9223372036854771712\n")
    return tmp_path


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(["sleep", "60"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def test_a_root_without_cgroup_controllers_is_driven_as_v1(root: Path) -> None:
    assert detect(root).version == 1


@pytest.mark.parametrize(
    "layout",
    [
        ("memory", "cpu", "cpuacct", "pids"),
        ("memory", "cpu,cpuacct", "pids"),
        ("memory", "cpuacct,cpu", "pids"),
    ],
)
def test_each_limited_controller_is_found_whatever_the_mount_names(
    tmp_path: Path, layout: tuple[str, ...]
) -> None:
    for name in layout:
        (tmp_path / name).mkdir()
    found = hierarchies(tmp_path)
    assert set(found) == {"memory", "cpu", "cpuacct", "pids"}
    assert "cpu" in found["cpu"].name.split(",")


def test_create_writes_every_limit_into_its_hierarchy(root: Path) -> None:
    cgroup = V1Driver(root).create("shocker", "c1", LIMITS)
    memory, cpu, pids = (
        root / "memory/shocker/c1",
        root / "cpu/shocker/c1",
        root / "pids/shocker/c1",
    )
    assert (memory / "memory.limit_in_bytes").read_text() == str(64 * 2**20)
    assert (memory / "memory.memsw.limit_in_bytes").read_text() == str(64 * 2**20)
    assert (cpu / "cpu.shares").read_text() == "512"
    assert (cpu / "cpu.cfs_period_us").read_text() == "100000"
    assert (cpu / "cpu.cfs_quota_us").read_text() == "150000"
    assert (pids / "pids.max").read_text() == "100"
    assert cgroup.path_description == "shocker/c1"


def test_a_quota_in_its_own_period(root: Path) -> None:
    V1Driver(root).create("shocker", "c1", Limits(cpu_quota_cores=0.25, cpu_period_us=200_000))
    cpu = root / "cpu/shocker/c1"
    assert (cpu / "cpu.cfs_period_us").read_text() == "200000"
    assert (cpu / "cpu.cfs_quota_us").read_text() == "50000"


@pytest.mark.parametrize(("swap", "memsw"), [(128 * 2**20, str(128 * 2**20)), (-1, "-1")])
def test_a_swap_limit_is_the_memsw_limit(root: Path, swap: int, memsw: str) -> None:
    limits = Limits(memory_bytes=64 * 2**20, memory_swap_bytes=swap)
    V1Driver(root).create("shocker", "c1", limits)
    assert (root / "memory/shocker/c1/memory.memsw.limit_in_bytes").read_text() == memsw


def test_without_swap_accounting_no_memsw_limit_is_written(root: Path) -> None:
    (root / "memory" / "memory.memsw.limit_in_bytes").unlink()
    V1Driver(root).create("shocker", "c1", LIMITS)
    assert not (root / "memory/shocker/c1/memory.memsw.limit_in_bytes").exists()


def test_unset_limits_leave_the_kernel_defaults(root: Path) -> None:
    V1Driver(root).create("shocker", "c1", Limits())
    for hierarchy in ("memory", "cpu,cpuacct", "pids"):
        assert list((root / hierarchy / "shocker/c1").iterdir()) == []


def test_limited_hierarchies_and_the_freezer_are_joined(root: Path) -> None:
    cgroup = V1Driver(root).create("shocker", "c1", LIMITS)
    procs = cgroup.procs_files()
    assert sorted(p.resolve().parent.parent.parent.name for p in procs) == [
        "cpu,cpuacct",
        "freezer",
        "memory",
        "pids",
    ]
    assert not (root / "systemd/shocker").exists()


def test_adding_a_process_writes_its_pid_to_every_hierarchy(root: Path) -> None:
    cgroup = V1Driver(root).create("shocker", "c1", LIMITS)
    cgroup.add_process(4242)
    assert [p.read_text() for p in cgroup.procs_files()] == ["4242"] * 4
    assert cgroup.pids() == [4242]


def test_open_finds_the_cgroup_create_made(root: Path) -> None:
    V1Driver(root).create("shocker", "c1", LIMITS)
    (root / "memory/shocker/c1/memory.usage_in_bytes").write_text("1234\n")
    opened = V1Driver(root).open("shocker", "c1")
    assert opened.memory_usage_bytes() == 1234
    assert opened.procs_files() == V1Driver(root).create("shocker", "c1", LIMITS).procs_files()


@pytest.mark.parametrize(
    ("oom_control", "failcnt", "killed"),
    [
        ("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", "3", False),
        ("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n", "3", True),
        ("oom_kill_disable 0\nunder_oom 0\n", "0", False),
        ("oom_kill_disable 0\nunder_oom 0\n", "2", True),
        ("oom_kill_disable 0\nunder_oom 1\n", "0", True),
    ],
)
def test_oom_kills_are_read_from_oom_control_with_failcnt_for_old_kernels(
    root: Path, oom_control: str, failcnt: str, killed: bool
) -> None:
    cgroup = V1Driver(root).create("shocker", "c1", LIMITS)
    (root / "memory/shocker/c1/memory.oom_control").write_text(oom_control)
    (root / "memory/shocker/c1/memory.failcnt").write_text(failcnt)
    assert cgroup.oom_killed() is killed


def test_remove_deletes_the_container_directories_and_keeps_the_parent(root: Path) -> None:
    cgroup = V1Driver(root).create("shocker", "c1", LIMITS)
    cgroup.remove()
    for hierarchy in ("memory", "cpu,cpuacct", "pids"):
        assert (root / hierarchy / "shocker").is_dir()
        assert not (root / hierarchy / "shocker/c1").exists()
    cgroup.remove()


def test_removing_a_cgroup_that_never_existed_is_not_an_error(root: Path) -> None:
    V1Driver(root).open("shocker", "gone").remove()


def test_kill_all_kills_the_listed_processes(root: Path, sleeper: subprocess.Popen[bytes]) -> None:
    cgroup = V1Driver(root).create("shocker", "c1", LIMITS)
    cgroup.add_process(sleeper.pid)
    cgroup.kill_all()
    assert sleeper.wait(timeout=10) == -9


def test_a_failed_limit_undoes_the_creation(root: Path) -> None:
    leaf = root / "pids/shocker/c1"
    leaf.mkdir(parents=True)
    (leaf / "pids.max").symlink_to(root / "missing/pids.max")
    with pytest.raises(CgroupError, match="cannot set pids limit"):
        V1Driver(root).create("shocker", "c1", LIMITS)
    for hierarchy in ("memory", "cpu,cpuacct", "pids"):
        assert not (root / hierarchy / "shocker/c1").exists()


def test_a_host_without_the_hierarchies_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CgroupError, match="no memory, cpu or pids hierarchy"):
        V1Driver(tmp_path).create("shocker", "c1", LIMITS)


@pytest.mark.parametrize(
    ("parent", "name"),
    [("shocker", ".."), ("../etc", "c1"), ("shocker", "a/b"), ("", "cgroup.procs")],
)
def test_names_that_leave_the_parent_are_refused(root: Path, parent: str, name: str) -> None:
    with pytest.raises(CgroupError, match="invalid cgroup name"):
        V1Driver(root).create(parent, name, LIMITS)


def test_fifty_concurrent_creates_under_one_new_parent_all_succeed(root: Path) -> None:
    driver = V1Driver(root)
    with ThreadPoolExecutor(max_workers=16) as pool:
        cgroups = list(pool.map(lambda i: driver.create("a/b", f"c{i}", LIMITS), range(50)))
    assert len({c.path_description for c in cgroups}) == 50
    assert len(list((root / "pids/a/b").iterdir())) == 50
