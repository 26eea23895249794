from __future__ import annotations

import pytest

from shocker.engine.process_options import parse_sysctls, parse_tmpfs, parse_ulimits
from shocker.errors import UsageError
from shocker.runtime.plan import CgroupFs, MountStep, RemountReadonly, Symlink, cgroup_steps


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


def test_sys_fs_cgroup_is_mounted_again_read_only_in_order() -> None:
    host = [
        CgroupFs("", "tmpfs"),
        CgroupFs("cpu,cpuacct", "cgroup", "cpu,cpuacct"),
        CgroupFs("unified", "cgroup2"),
        CgroupFs("cpu", "link", "cpu,cpuacct"),
    ]
    steps = cgroup_steps(host, writable=False)
    assert [type(s) for s in steps] == [MountStep, MountStep, MountStep, Symlink, RemountReadonly]
    first, hierarchy = steps[0], steps[1]
    assert isinstance(first, MountStep) and isinstance(hierarchy, MountStep)
    assert (first.target, first.fstype, first.flags & 1) == ("/sys/fs/cgroup", "tmpfs", 0)
    assert (hierarchy.target, hierarchy.data, hierarchy.flags & 1) == (
        "/sys/fs/cgroup/cpu,cpuacct",
        "cpu,cpuacct",
        1,
    )
    writable = cgroup_steps(host, writable=True)
    assert not any(isinstance(s, RemountReadonly) for s in writable)
    assert all(s.flags & 1 == 0 for s in writable if isinstance(s, MountStep))
    v2 = cgroup_steps([CgroupFs("", "cgroup2")], writable=False)
    assert v2 == [MountStep("cgroup2", "/sys/fs/cgroup", "cgroup2", v2[0].flags, None)]  # type: ignore[union-attr]
