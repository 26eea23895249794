"""Pure: a ContainerSpec -> the ordered filesystem steps of a container's start.

`rootfs_steps` run before pivot_root (targets are container paths, resolved under the
rootfs); `confinement_steps` run after it (masked and read-only paths). rootfs.py acts.
"""

from __future__ import annotations

from collections.abc import Sequence

from shocker.linux.syscalls import (
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_RDONLY,
    MS_REC,
    MS_STRICTATIME,
)
from shocker.record import record
from shocker.runtime.spec import ContainerSpec, Mount


@record(frozen=True)
class MountStep:
    source: str
    target: str  # container path
    fstype: str | None
    flags: int = 0
    data: str | None = None
    # What to create at the target: a directory, or for binds whatever the source is.
    is_bind: bool = False


@record(frozen=True)
class RemountReadonly:
    target: str


@record(frozen=True)
class DeviceNode:
    path: str
    major: int
    minor: int
    is_block: bool = False
    mode: int = 0o666


@record(frozen=True)
class Symlink:
    target: str
    path: str


@record(frozen=True)
class Mask:
    path: str


@record(frozen=True)
class ReadOnly:
    path: str


Step = MountStep | RemountReadonly | DeviceNode | Symlink
ConfinementStep = Mask | ReadOnly

# The OCI "default devices" (runtime-spec config-linux.md), char devices, mode 0666.
DEFAULT_DEVICES = (
    DeviceNode("/dev/null", 1, 3),
    DeviceNode("/dev/zero", 1, 5),
    DeviceNode("/dev/full", 1, 7),
    DeviceNode("/dev/random", 1, 8),
    DeviceNode("/dev/urandom", 1, 9),
    DeviceNode("/dev/tty", 5, 0),
)

_HARDENED = MS_NOSUID | MS_NODEV | MS_NOEXEC


def rootfs_steps(spec: ContainerSpec, host_devices: Sequence[DeviceNode] = ()) -> list[Step]:
    """Docker's default mounts (PEERS 3.3), then the spec's own mounts, in mount order.

    host_devices: with --privileged, the host's device nodes to recreate in /dev."""
    sys_flags = _HARDENED if spec.privileged else _HARDENED | MS_RDONLY
    steps: list[Step] = [
        MountStep("proc", "/proc", "proc", _HARDENED),
        MountStep("sysfs", "/sys", "sysfs", sys_flags),
        MountStep("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k"),
    ]
    devices = {d.path: d for d in DEFAULT_DEVICES}
    if spec.privileged:
        devices.update({d.path: d for d in host_devices})
    steps.extend(devices.values())
    steps += [
        MountStep(
            "devpts",
            "/dev/pts",
            "devpts",
            MS_NOSUID | MS_NOEXEC,
            "newinstance,ptmxmode=0666,mode=0620,gid=5",
        ),
        Symlink("pts/ptmx", "/dev/ptmx"),
        MountStep("shm", "/dev/shm", "tmpfs", _HARDENED, "mode=1777,size=65536k"),
        MountStep("mqueue", "/dev/mqueue", "mqueue", _HARDENED),
        Symlink("/proc/self/fd", "/dev/fd"),
        Symlink("/proc/self/fd/0", "/dev/stdin"),
        Symlink("/proc/self/fd/1", "/dev/stdout"),
        Symlink("/proc/self/fd/2", "/dev/stderr"),
    ]
    for mount in spec.mounts:
        steps += mount_steps(mount)
    return steps


def mount_steps(mount: Mount) -> list[Step]:
    """One of the spec's mounts: a bind (read-only by a second remount, as mount(8) does)
    or a filesystem such as tmpfs; options name flags (ro, nosuid...) or go to the data."""
    flags, data = _parse_options(mount.options)
    if mount.readonly:
        flags |= MS_RDONLY
    if mount.type == "bind":
        steps: list[Step] = [
            MountStep(mount.source, mount.destination, None, MS_BIND | MS_REC, is_bind=True)
        ]
        if flags & MS_RDONLY:
            steps.append(RemountReadonly(mount.destination))
        return steps
    return [MountStep(mount.source or mount.type, mount.destination, mount.type, flags, data)]


_FLAG_OPTIONS = {"ro": MS_RDONLY, "nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC}


def _parse_options(options: Sequence[str]) -> tuple[int, str | None]:
    flags = 0
    data = []
    for option in options:
        if option in _FLAG_OPTIONS:
            flags |= _FLAG_OPTIONS[option]
        elif option not in ("rw", "bind", "rbind"):
            data.append(option)
    return flags, ",".join(data) or None


def confinement_steps(spec: ContainerSpec) -> list[ConfinementStep]:
    """Masked then read-only paths; none with --privileged, as Docker does."""
    if spec.privileged:
        return []
    steps: list[ConfinementStep] = [Mask(p) for p in spec.masked_paths]
    steps += [ReadOnly(p) for p in spec.readonly_paths]
    return steps
