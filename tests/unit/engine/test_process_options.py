from __future__ import annotations

import pytest

from shocker.engine.process_options import parse_sysctls, parse_tmpfs, parse_ulimits
from shocker.errors import UsageError
from shocker.runtime.plan import (
    CgroupFs,
    MountStep,
    Remount,
    RemountReadonly,
    Symlink,
    cgroup_steps,
)


def test_only_namespaced_sysctls() -> None:
    assert parse_sysctls(("net.ipv4.ip_forward=1", "kernel.shmmax=9"), "bridge") == [
        ("net.ipv4.ip_forward", "1"),
        ("kernel.shmmax", "9"),
    ]
    assert parse_sysctls(("fs/mqueue/msg_max=20",), "none") == [("fs.mqueue.msg_max", "20")]
    for bad, network in (("kernel.panic=1", "bridge"), ("net.core.x=1", "host"), ("x", "none")):
        with pytest.raises(UsageError, match="--sysctl"):
            parse_sysctls((bad,), network)


def test_ulimits() -> None:
    assert parse_ulimits(("nofile=10:20", "core=0", "nproc=-1")) == [
        (7, 10, 20),
        (4, 0, 0),
        (6, -1, -1),
    ]
    for bad in ("nofile", "files=1", "nofile=a", "nofile=9:3", "nofile=-1:5"):
        with pytest.raises(UsageError, match="--ulimit"):
            parse_ulimits((bad,))


def test_tmpfs_options_start_from_dockers_defaults() -> None:
    assert parse_tmpfs(("/run",)) == [("/run", ("noexec", "nosuid", "nodev"))]
    assert parse_tmpfs(("/tmp:exec,size=1m",)) == [("/tmp", ("nosuid", "nodev", "size=1m"))]
    with pytest.raises(UsageError, match="--tmpfs"):
        parse_tmpfs(("tmp",))


def test_sys_fs_cgroup_binds_the_containers_cgroups_read_only_in_order() -> None:
    host = [
        CgroupFs("", "tmpfs"),
        CgroupFs("cpu,cpuacct", "cgroup", "cpu,cpuacct", "/shocker/ps-1"),
        CgroupFs("unified", "cgroup2"),
        CgroupFs("cpu", "link", "cpu,cpuacct"),
    ]
    steps = cgroup_steps(host, writable=False)
    kinds = [MountStep, MountStep, Remount, MountStep, Remount, Symlink, RemountReadonly]
    assert [type(s) for s in steps] == kinds
    first, hierarchy, flags, unified = steps[0], steps[1], steps[2], steps[3]
    assert isinstance(first, MountStep) and isinstance(hierarchy, MountStep)
    assert isinstance(flags, Remount) and isinstance(unified, MountStep)
    assert (first.target, first.fstype, first.flags & 1) == ("/sys/fs/cgroup", "tmpfs", 0)
    # The host's mount of the hierarchy, at the container's own cgroup; read-only after.
    assert (hierarchy.source, hierarchy.target, hierarchy.is_bind) == (
        "/sys/fs/cgroup/cpu,cpuacct/shocker/ps-1",
        "/sys/fs/cgroup/cpu,cpuacct",
        True,
    )
    assert (flags.target, flags.flags & 1) == ("/sys/fs/cgroup/cpu,cpuacct", 1)
    assert unified.source == unified.target == "/sys/fs/cgroup/unified"
    writable = cgroup_steps(host, writable=True)
    assert not any(isinstance(s, RemountReadonly) for s in writable)
    assert all(s.flags & 1 == 0 for s in writable if isinstance(s, (MountStep, Remount)))
    v2 = cgroup_steps([CgroupFs("", "cgroup2", None, "/shocker/ps-1")], writable=False)
    bind, remount = v2
    assert isinstance(bind, MountStep) and isinstance(remount, Remount)
    assert (bind.source, bind.target, remount.target) == (
        "/sys/fs/cgroup/shocker/ps-1",
        "/sys/fs/cgroup",
        "/sys/fs/cgroup",
    )
