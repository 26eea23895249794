"""The mount and confinement plan a runtime spec produces, in order: the engine's mounts
(engine/bundle.py) as shocker's own runtime makes them."""

from __future__ import annotations

from typing import Any

import pytest

from shocker.engine.bundle import DEFAULT_MASKED_PATHS, DEFAULT_MOUNTS, DEFAULT_READONLY_PATHS
from shocker.errors import RuntimeFailure
from shocker.linux.syscalls import MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC
from shocker.oci import runtime_spec as rs
from shocker.runtime.plan import (
    CgroupFs,
    DeviceNode,
    Mask,
    MountStep,
    ReadOnly,
    Remount,
    RemountReadonly,
    Symlink,
    hidden_paths,
    mount_plan,
)

CGROUP = rs.Mount(destination="/sys/fs/cgroup", type="cgroup", options=("nosuid", "ro"))
HOST_CGROUPS = [CgroupFs("", "tmpfs"), CgroupFs("memory", "cgroup", "memory")]


def spec(*mounts: rs.Mount, **linux: Any) -> rs.Spec:
    return rs.Spec(
        root=rs.Root(path="/r"),
        process=rs.Process(args=("true",)),
        mounts=(*DEFAULT_MOUNTS, *mounts),
        linux=rs.Linux(**linux),
    )


def mount_targets(steps: list[Any]) -> list[str]:
    return [s.target for s in steps if isinstance(s, MountStep)]


def test_default_mounts_come_in_docker_order() -> None:
    assert mount_targets(mount_plan(spec())) == [
        "/proc",
        "/sys",
        "/dev",
        "/dev/pts",
        "/dev/shm",
        "/dev/mqueue",
    ]


def test_sys_is_read_only() -> None:
    [sys] = [m for m in mount_plan(spec()) if isinstance(m, MountStep) and m.target == "/sys"]
    assert sys.flags & MS_RDONLY


def test_dev_gets_the_standard_nodes_and_links() -> None:
    steps = mount_plan(spec())
    assert [d.path for d in steps if isinstance(d, DeviceNode)] == [
        "/dev/null",
        "/dev/zero",
        "/dev/full",
        "/dev/random",
        "/dev/urandom",
        "/dev/tty",
    ]
    links = {s.path: s.target for s in steps if isinstance(s, Symlink)}
    assert links["/dev/ptmx"] == "pts/ptmx"
    assert links["/dev/fd"] == "/proc/self/fd"
    assert links["/dev/stderr"] == "/proc/self/fd/2"


def test_devpts_is_a_new_instance() -> None:
    pts = next(s for s in mount_plan(spec()) if isinstance(s, MountStep) and s.target == "/dev/pts")
    assert pts.data is not None
    assert "newinstance" in pts.data
    assert "ptmxmode=0666" in pts.data


def test_linux_devices_join_the_default_nodes() -> None:
    loop = rs.Device(path="/dev/loop0", type="b", major=7, minor=0, file_mode=0o660)
    steps = mount_plan(spec(devices=(loop,)))
    assert DeviceNode("/dev/loop0", 7, 0, is_block=True, mode=0o660) in steps


def test_a_bind_of_dev_brings_its_own_nodes_and_links() -> None:
    dev = rs.Mount(destination="/dev", type="bind", source="/dev", options=("rbind", "rw"))
    steps = mount_plan(spec(dev))
    assert mount_targets(steps)[-1] == "/dev"
    assert not [s for s in steps if isinstance(s, DeviceNode | Symlink)]


def test_a_device_of_no_node_type_is_refused() -> None:
    fifo = rs.Device(path="/dev/f", type="p")
    with pytest.raises(RuntimeFailure, match="type p"):
        mount_plan(spec(devices=(fifo,)))


def test_the_containers_mounts_follow_dev_and_read_only_binds_are_remounted() -> None:
    data = rs.Mount(destination="/data", type="bind", source="/host/data", options=("rbind", "ro"))
    run = rs.Mount(destination="/run", type="tmpfs", source="tmpfs", options=("nosuid", "size=1m"))
    steps = [s for s in mount_plan(spec(data, run)) if isinstance(s, MountStep | Remount)]
    tail = steps[-3:]
    assert tail[0] == MountStep("/host/data", "/data", None, MS_BIND | MS_REC, is_bind=True)
    assert tail[1] == Remount("/data", MS_RDONLY)
    assert tail[2] == MountStep("tmpfs", "/run", "tmpfs", MS_NOSUID, "size=1m")


def test_sys_fs_cgroup_binds_the_hosts_hierarchies_read_only() -> None:
    host = [*HOST_CGROUPS[:1], CgroupFs("memory", "cgroup", "memory", "/shocker/ps-1")]
    steps = mount_plan(spec(CGROUP), cgroup_filesystems=host)
    memory = next(s for s in steps if isinstance(s, MountStep) and s.target.endswith("memory"))
    assert (memory.source, memory.target) == (
        "/sys/fs/cgroup/memory/shocker/ps-1",
        "/sys/fs/cgroup/memory",
    )
    assert memory.is_bind and memory.flags == MS_BIND
    assert steps[steps.index(memory) + 1] == Remount(
        "/sys/fs/cgroup/memory", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY
    )
    assert RemountReadonly("/sys/fs/cgroup") in steps


def test_masked_then_read_only_paths() -> None:
    steps = hidden_paths(
        spec(masked_paths=DEFAULT_MASKED_PATHS, readonly_paths=DEFAULT_READONLY_PATHS)
    )
    assert steps[0] == Mask(DEFAULT_MASKED_PATHS[0])
    assert Mask("/proc/kcore") in steps
    assert ReadOnly("/proc/sys") in steps
    assert steps.index(Mask("/proc/kcore")) < steps.index(ReadOnly("/proc/sys"))


def test_no_paths_no_hiding() -> None:
    assert hidden_paths(spec()) == []
