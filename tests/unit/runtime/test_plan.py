"""The mount and confinement plan a spec produces, in order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shocker.linux.syscalls import MS_BIND, MS_NOSUID, MS_RDONLY
from shocker.runtime.plan import (
    DeviceNode,
    Mask,
    MountStep,
    ReadOnly,
    RemountReadonly,
    Symlink,
    confinement_steps,
    rootfs_steps,
)
from shocker.runtime.spec import DEFAULT_MASKED_PATHS, ContainerSpec, Mount


def spec(**changes: Any) -> ContainerSpec:
    fields: dict[str, Any] = {
        "id": "ps-12345",
        "rootfs": Path("/r"),
        "argv": ("true",),
        "env": (),
        "log_path": Path("/l"),
    }
    return ContainerSpec(**{**fields, **changes})


def mount_targets(steps: list[Any]) -> list[str]:
    return [s.target for s in steps if isinstance(s, MountStep)]


def test_default_mounts_come_in_docker_order() -> None:
    assert mount_targets(rootfs_steps(spec())) == [
        "/proc",
        "/sys",
        "/dev",
        "/dev/pts",
        "/dev/shm",
        "/dev/mqueue",
    ]


def test_sys_is_read_only_unless_privileged() -> None:
    def sys_flags(s: ContainerSpec) -> int:
        return next(
            m.flags for m in rootfs_steps(s) if isinstance(m, MountStep) and m.target == "/sys"
        )

    assert sys_flags(spec()) & MS_RDONLY
    assert not sys_flags(spec(privileged=True)) & MS_RDONLY


def test_dev_gets_the_standard_nodes_and_links() -> None:
    steps = rootfs_steps(spec())
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
    pts = next(
        s for s in rootfs_steps(spec()) if isinstance(s, MountStep) and s.target == "/dev/pts"
    )
    assert pts.data is not None
    assert "newinstance" in pts.data
    assert "ptmxmode=0666" in pts.data


def test_host_devices_are_added_only_when_privileged() -> None:
    loop = DeviceNode("/dev/loop0", 7, 0, is_block=True, mode=0o660)
    assert loop not in rootfs_steps(spec(), [loop])
    assert loop in rootfs_steps(spec(privileged=True), [loop])


def test_spec_mounts_come_after_dev_and_read_only_binds_are_remounted() -> None:
    mounts = (
        Mount("/host/data", "/data", readonly=True),
        Mount("tmpfs", "/run", type="tmpfs", options=("nosuid", "size=1m")),
    )
    steps = rootfs_steps(spec(mounts=mounts))
    tail = steps[-3:]
    assert tail[0] == MountStep("/host/data", "/data", None, MS_BIND | 16384, is_bind=True)
    assert tail[1] == RemountReadonly("/data")
    assert tail[2] == MountStep("tmpfs", "/run", "tmpfs", MS_NOSUID, "size=1m")


def test_masked_then_read_only_paths_without_privileged() -> None:
    steps = confinement_steps(spec())
    assert steps[0] == Mask(DEFAULT_MASKED_PATHS[0])
    assert Mask("/proc/kcore") in steps
    assert ReadOnly("/proc/sys") in steps
    assert steps.index(Mask("/proc/kcore")) < steps.index(ReadOnly("/proc/sys"))


def test_privileged_masks_nothing() -> None:
    assert confinement_steps(spec(privileged=True)) == []
