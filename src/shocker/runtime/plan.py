"""Pure: a runtime spec's mounts and devices -> the ordered filesystem steps of a
container's start, run before pivot_root (targets are container paths, resolved under the
rootfs), and the masked and read-only paths that follow it. rootfs.py acts.
"""

from __future__ import annotations

from collections.abc import Sequence

from shocker.errors import RuntimeFailure
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
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.oci.runtime_spec import Mount as OciMount
    from shocker.oci.runtime_spec import Spec


@record(frozen=True)
class DeviceNode:
    """A device node made in the container's /dev (the defaults, linux.devices)."""

    path: str
    major: int
    minor: int
    is_block: bool = False
    mode: int = 0o666


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
    recursive: bool = False  # every mount below it too (the spec's "rro")


@record(frozen=True)
class Remount:
    """Set a bind's per-mount flags (MS_RDONLY, MS_NOSUID...), keeping those it has."""

    target: str
    flags: int


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


@record(frozen=True)
class CgroupFs:
    """One filesystem of the host's /sys/fs/cgroup, to show inside."""

    path: str  # below /sys/fs/cgroup ("" for the directory itself)
    fstype: str  # tmpfs, cgroup, cgroup2, or "link" (a symlink such as cpu -> cpu,cpuacct)
    data: str | None = None  # a v1 hierarchy's controllers; a link's target
    cgroup: str = "/"  # a hierarchy's: the container's cgroup in it, shown as its root


Step = MountStep | RemountReadonly | Remount | DeviceNode | Symlink
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


def cgroup_steps(filesystems: Sequence[CgroupFs], *, writable: bool) -> list[Step]:
    """/sys/fs/cgroup read-only (every mount there, as Docker), writable when privileged.

    Each hierarchy is the bind of the container's cgroup directory in the host's mount of
    it, which is what a new mount of the hierarchy in the container's cgroup namespace
    shows. Not a new mount: mounting a v1 hierarchy takes the kernel's cgroup_mutex, which
    a cgroup migration holds through an RCU grace period, so concurrent starts queue on it
    (20 concurrent `run --rm`, strace -T: up to 60 ms for one mount, 7.7 ms per start for
    the ten; a bind 0.19 ms on average)."""
    flags = _HARDENED if writable else _HARDENED | MS_RDONLY
    steps: list[Step] = []
    top = None
    for fs in filesystems:
        target = f"/sys/fs/cgroup/{fs.path}".rstrip("/")
        if fs.fstype == "link":
            steps.append(Symlink(fs.data or "", target))
        elif fs.fstype == "tmpfs":
            # Writable until the hierarchies' mount points are made in it.
            steps.append(MountStep("tmpfs", target, "tmpfs", _HARDENED, "mode=755"))
            top = target
        else:
            source = target + fs.cgroup.rstrip("/")
            steps.append(MountStep(source, target, None, MS_BIND, is_bind=True))
            steps.append(Remount(target, flags))
    if top is not None and not writable:
        steps.append(RemountReadonly(top))
    return steps


_MS_NOSYMFOLLOW = 1 << 8  # Linux 5.10

# mount(8) option words that are flags: (set, clear); anything else is filesystem data.
_OCI_FLAGS: dict[str, tuple[int, int]] = {
    "ro": (MS_RDONLY, 0),
    "rw": (0, MS_RDONLY),
    "nosuid": (MS_NOSUID, 0),
    "suid": (0, MS_NOSUID),
    "nodev": (MS_NODEV, 0),
    "dev": (0, MS_NODEV),
    "noexec": (MS_NOEXEC, 0),
    "exec": (0, MS_NOEXEC),
    "strictatime": (MS_STRICTATIME, 0),
    "relatime": (1 << 21, 0),
    "noatime": (1 << 10, 0),
    "nodiratime": (1 << 11, 0),
    "sync": (1 << 4, 0),
    "dirsync": (1 << 7, 0),
    "mand": (1 << 6, 0),
    "nosymfollow": (_MS_NOSYMFOLLOW, 0),
    "symfollow": (0, _MS_NOSYMFOLLOW),
    "rro": (0, 0),  # made read-only after the bind, with every mount below it
    "bind": (MS_BIND, 0),
    "rbind": (MS_BIND | MS_REC, 0),
}
# runc's words for what mount(2) options cannot say: refused by name, not passed on as
# data that a bind would silently ignore.
_UNHONOURED = frozenset(
    {"rrw", "rsuid", "rnosuid", "rdev", "rnodev", "rexec", "rnoexec", "rsymfollow",
     "rnosymfollow", "ratime", "rnoatime", "rdiratime", "rnodiratime", "rrelatime",
     "rnorelatime", "rstrictatime", "rnostrictatime", "idmap", "ridmap", "tmpcopyup"}
)  # fmt: skip
# Propagation words apply to the mount after it is made; they carry no data.
_PROPAGATION_WORDS = frozenset(
    {"private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable"}
)


def oci_mount_steps(
    mount: OciMount,
    cgroup_binds: Sequence[tuple[str, str]] = (),
    cgroup_filesystems: Sequence[CgroupFs] | None = None,
) -> list[Step]:
    """One config.json mount. Binds are made first and made read-only by a second remount
    (as mount(8) does); type "cgroup" binds the container's own cgroup directories
    (cgroup_binds: container path, host directory) under a tmpfs, as runc does on v1, or
    with cgroup_filesystems mounts the host's hierarchies again, as shocker's own runtime
    does in the container's cgroup namespace (cgroup_steps)."""
    flags, clear, data = 0, 0, []
    for option in mount.options:
        if option in _OCI_FLAGS:
            on, off = _OCI_FLAGS[option]
            flags, clear = (flags | on) & ~off, (clear | off) & ~on
        elif option in _UNHONOURED:
            raise RuntimeFailure(
                f"config.json: mounts: {mount.destination}: option {option!r} is not "
                "supported by this runtime"
            )
        elif option not in _PROPAGATION_WORDS:
            data.append(option)
    if mount.type == "cgroup" or mount.type == "cgroup2":
        if cgroup_filesystems is not None:
            return cgroup_steps(cgroup_filesystems, writable=not flags & MS_RDONLY)
        return _cgroup_steps(mount.destination, flags, cgroup_binds)
    if flags & MS_BIND or mount.type == "bind":
        bind_flags = MS_BIND | (flags & MS_REC)
        if mount.type == "bind" and not flags & MS_BIND:
            bind_flags |= MS_REC if "rbind" in mount.options else 0
        steps: list[Step] = [
            MountStep(mount.source, mount.destination, None, bind_flags, is_bind=True)
        ]
        if flags & _KEPT_ON_REMOUNT:
            steps.append(Remount(mount.destination, flags & _KEPT_ON_REMOUNT))
        if "rro" in mount.options:
            steps.append(RemountReadonly(mount.destination, recursive=True))
        return steps
    return [
        MountStep(
            mount.source or mount.type,
            mount.destination,
            mount.type or None,
            flags,
            ",".join(data) or None,
        )
    ]


# A bind's per-mount flags, set by a remount after it: access, atime and symlink ones.
_KEPT_ON_REMOUNT = (
    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_STRICTATIME | _MS_NOSYMFOLLOW
    | (1 << 21) | (1 << 10) | (1 << 11)
)  # fmt: skip


def _cgroup_steps(destination: str, flags: int, binds: Sequence[tuple[str, str]]) -> list[Step]:
    kept = (flags | _HARDENED) & _KEPT_ON_REMOUNT
    if len(binds) == 1 and binds[0][0] == destination:  # v2: one directory
        bind: list[Step] = [MountStep(binds[0][1], destination, None, MS_BIND, is_bind=True)]
        return [*bind, Remount(destination, kept)]
    steps: list[Step] = [MountStep("tmpfs", destination, "tmpfs", _HARDENED, "mode=755")]
    for target, host in binds:
        steps += [MountStep(host, target, None, MS_BIND, is_bind=True), Remount(target, kept)]
    steps.append(Remount(destination, kept))
    return steps


def oci_rootfs_steps(
    mounts: Sequence[OciMount],
    devices: Sequence[DeviceNode] = (),
    cgroup_binds: Sequence[tuple[str, str]] = (),
    cgroup_filesystems: Sequence[CgroupFs] | None = None,
) -> list[Step]:
    """The spec's mounts in order, then the default devices and links every runtime must
    provide (runtime-spec config-linux.md, "Default Devices", "/dev symbolic links"),
    then the spec's linux.devices; none of them when /dev itself is a bind (`-v /dev:/dev`):
    it brings its own, as runc leaves it (libcontainer's needsSetupDev)."""
    steps: list[Step] = []
    for mount in mounts:
        steps += oci_mount_steps(mount, cgroup_binds, cgroup_filesystems)
    if any(_binds_dev(mount) for mount in mounts):
        return steps
    nodes = {d.path: d for d in DEFAULT_DEVICES}
    nodes.update({d.path: d for d in devices})
    # /dev/ptmx is the link into this container's own devpts below, whatever the spec lists
    # (containerd's --privileged lists every host node, /dev/ptmx among them; runc skips it).
    nodes.pop("/dev/ptmx", None)
    steps += nodes.values()
    steps += [
        Symlink("/proc/self/fd", "/dev/fd"),
        Symlink("/proc/self/fd/0", "/dev/stdin"),
        Symlink("/proc/self/fd/1", "/dev/stdout"),
        Symlink("/proc/self/fd/2", "/dev/stderr"),
        Symlink("pts/ptmx", "/dev/ptmx"),
    ]
    return steps


def _binds_dev(mount: OciMount) -> bool:
    is_bind = mount.type == "bind" or "bind" in mount.options or "rbind" in mount.options
    return is_bind and mount.destination.rstrip("/") == "/dev"


def mount_plan(
    spec: Spec,
    cgroup_binds: Sequence[tuple[str, str]] = (),
    cgroup_filesystems: Sequence[CgroupFs] | None = None,
) -> list[Step]:
    """The spec's mounts and linux.devices as steps (oci_rootfs_steps). Raises
    RuntimeFailure for a device of a type that has no node (u, p)."""
    devices = []
    for device in spec.linux.devices:
        if device.type not in ("c", "b"):
            raise RuntimeFailure(f"config.json: linux.devices: {device.path}: type {device.type}")
        mode = (device.file_mode if device.file_mode is not None else 0o666) & 0o7777
        devices.append(
            DeviceNode(device.path, device.major, device.minor, device.type == "b", mode)
        )
    return oci_rootfs_steps(spec.mounts, devices, cgroup_binds, cgroup_filesystems)


def hidden_paths(spec: Spec) -> list[ConfinementStep]:
    """linux.maskedPaths, then linux.readonlyPaths."""
    steps: list[ConfinementStep] = [Mask(p) for p in spec.linux.masked_paths]
    steps += [ReadOnly(p) for p in spec.linux.readonly_paths]
    return steps


def oci_mount_options() -> list[str]:
    """The mount option words oci_mount_steps understands as flags."""
    return sorted({*_OCI_FLAGS, *_PROPAGATION_WORDS})
