"""The confinement sequence: its order, for a container's init and for exec."""

from __future__ import annotations

import pytest

from shocker.errors import RuntimeFailure
from shocker.linux.syscalls import MS_BIND, MS_NOSUID, MS_RDONLY, MS_REC
from shocker.oci import runtime_spec as rs
from shocker.runtime import sequence
from shocker.runtime.plan import (
    DeviceNode,
    MountStep,
    Remount,
    RemountReadonly,
    Symlink,
    oci_mount_steps,
    oci_rootfs_steps,
)

PROCESS = rs.Process(
    args=("sh",),
    user=rs.User(uid=1000, gid=100, additional_gids=(10,)),
    capabilities=rs.Capabilities.same(("CAP_KILL",)),
    rlimits=(rs.Rlimit("RLIMIT_NOFILE", 1024, 1024),),
    no_new_privileges=True,
    terminal=True,
)
SPEC = rs.Spec(
    root=rs.Root(path="rootfs", readonly=True),
    process=PROCESS,
    hostname="box",
    linux=rs.Linux(
        sysctl=(("net.ipv4.ip_forward", "1"),),
        masked_paths=("/proc/kcore",),
        readonly_paths=("/proc/sys",),
    ),
)


def test_init_order() -> None:
    steps = sequence.init_steps(SPEC, "/r", [], seccomp=b"\0" * 8)
    assert sequence.names(steps) == [
        "Mounts",
        "PivotRoot",
        "WorkingDirectory",
        "ReadonlyRoot",
        "Hostname",
        "Sysctl",
        "HidePaths",
        "Barrier",  # the terminal, from the container's own devpts
        "Rlimits",
        "SetUser",
        "SetCapabilities",
        "NoNewPrivileges",
        "Barrier",  # ready: the caller hears of it; start releases it
        "LoadSeccomp",
        "Execute",
    ]
    assert steps[-2] == sequence.LoadSeccomp(b"\0" * 8)
    assert steps[9] == sequence.SetUser(1000, 100, (10,))


def test_exec_runs_the_same_process_steps() -> None:
    init = sequence.init_steps(SPEC, "/r", [], seccomp=None)
    exec_steps = sequence.process_steps(PROCESS, None)
    assert init[-len(exec_steps) :] == exec_steps
    assert "LoadSeccomp" not in sequence.names(exec_steps)


def test_nothing_optional_when_unasked() -> None:
    spec = rs.Spec(root=rs.Root(path="r"), process=rs.Process(args=("true",)))
    assert sequence.names(sequence.init_steps(spec, "/r", [], None)) == [
        "Mounts",
        "PivotRoot",
        "WorkingDirectory",
        "SetUser",
        "SetCapabilities",  # none asked: none kept, as runc reads a missing object
        "Barrier",
        "Execute",
    ]


def test_mount_options() -> None:
    bind = rs.Mount(destination="/data", type="bind", source="/srv", options=("rbind", "ro"))
    assert oci_mount_steps(bind) == [
        MountStep("/srv", "/data", None, MS_BIND | MS_REC, is_bind=True),
        Remount("/data", MS_RDONLY),
    ]
    tmpfs = rs.Mount(
        destination="/tmp", type="tmpfs", source="tmpfs", options=("nosuid", "size=1m")
    )
    assert oci_mount_steps(tmpfs) == [MountStep("tmpfs", "/tmp", "tmpfs", MS_NOSUID, "size=1m")]


def test_rro_remounts_the_whole_tree_read_only_after_the_bind() -> None:
    bind = rs.Mount(destination="/data", type="bind", source="/srv", options=("rbind", "rro"))
    assert oci_mount_steps(bind) == [
        MountStep("/srv", "/data", None, MS_BIND | MS_REC, is_bind=True),
        RemountReadonly("/data", recursive=True),
    ]


@pytest.mark.parametrize("option", ["rnosuid", "rnoexec", "idmap", "tmpcopyup"])
def test_mount_options_not_honoured_are_refused_by_name(option: str) -> None:
    bind = rs.Mount(destination="/data", type="bind", source="/srv", options=("rbind", option))
    with pytest.raises(RuntimeFailure, match=f"/data: option '{option}' is not supported"):
        oci_mount_steps(bind)


def test_default_devices_and_links_follow_the_mounts() -> None:
    steps = oci_rootfs_steps([rs.Mount(destination="/dev", type="tmpfs", source="tmpfs")])
    assert isinstance(steps[0], MountStep)
    assert Symlink("pts/ptmx", "/dev/ptmx") in steps
    assert any(getattr(s, "path", "") == "/dev/null" for s in steps)


def test_a_listed_ptmx_stays_the_link_into_the_containers_devpts() -> None:
    host_ptmx = DeviceNode("/dev/ptmx", 5, 2)
    steps = oci_rootfs_steps([], [host_ptmx, DeviceNode("/dev/loop0", 7, 0, True)])
    assert host_ptmx not in steps
    assert Symlink("pts/ptmx", "/dev/ptmx") in steps
    assert any(getattr(s, "path", "") == "/dev/loop0" for s in steps)


def test_the_user_namespace_is_joined_after_every_mount_and_limit() -> None:
    steps = sequence.init_steps(SPEC, "/r", [], seccomp=None, userns=7)
    names = sequence.names(steps)
    assert names.index("JoinUserNamespace") == names.index("Rlimits") + 1
    assert names.index("JoinUserNamespace") == names.index("SetUser") - 1
    assert steps[names.index("JoinUserNamespace")] == sequence.JoinUserNamespace(7)
    assert "JoinUserNamespace" in sequence.names(sequence.process_steps(PROCESS, None, 3))
    assert "JoinUserNamespace" not in sequence.names(sequence.process_steps(PROCESS, None))


def test_a_process_without_capabilities_keeps_none() -> None:
    steps = sequence.process_steps(rs.Process(args=("sh",)), None)
    empty: frozenset[str] = frozenset()
    assert sequence.SetCapabilities(empty, empty, empty, empty, empty) in steps


def test_without_no_new_privs_the_filter_comes_before_the_user_changes() -> None:
    process = rs.Process(args=("sh",), no_new_privileges=False)
    names = sequence.names(sequence.process_steps(process, b"\0" * 8))
    assert names == ["LoadSeccomp", "SetUser", "SetCapabilities", "Barrier", "Execute"]


def test_unlimited_is_the_c_long_python_takes() -> None:
    assert sequence._limit(2**64 - 1) == sequence._limit(-1) == -1
    assert sequence._limit(1024) == 1024
