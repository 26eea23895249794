"""The container's filesystem view: rootfs steps under the new root, pivot_root, then
masked and read-only paths. Runs inside the container's fresh mount namespace only.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from shocker.linux import inroot
from shocker.linux.syscalls import (
    MNT_DETACH,
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
    MS_SHARED,
    MS_SLAVE,
    MS_UNBINDABLE,
    mount,
    pivot_root,
    umount2,
)
from shocker.record import record
from shocker.runtime.failure import step
from shocker.runtime.plan import (
    CgroupFs,
    ConfinementStep,
    DeviceNode,
    Mask,
    MountStep,
    Remount,
    RemountReadonly,
    Step,
    Symlink,
)

PROPAGATION = {
    "private": MS_PRIVATE,
    "rprivate": MS_PRIVATE | MS_REC,
    "slave": MS_SLAVE,
    "rslave": MS_SLAVE | MS_REC,
    "shared": MS_SHARED,
    "rshared": MS_SHARED | MS_REC,
    "unbindable": MS_UNBINDABLE,
}


def prepare(
    rootfs: str,
    steps: list[Step],
    propagation: str = "rprivate",
    idmap: IdMappedRoot | None = None,
) -> None:
    """Make every mount private (or as the spec's rootfsPropagation says), bind the rootfs
    onto itself (idmapped through a user namespace when `idmap` says so), then apply the
    steps.

    Every target is resolved inside the rootfs through descriptors (linux/inroot.py) and
    acted on through them, never by a host path: the rootfs and volumes are writable by
    containers, and a symlink swapped in must not redirect a mount (CVE-2021-30465)."""
    with step("make mounts private"):
        # Nothing we mount may propagate back to the host (mount_namespaces(7)).
        mount(None, "/", None, PROPAGATION[propagation])
        if PROPAGATION[propagation] & MS_SHARED:
            # pivot_root(2) refuses a shared new root or parent: the mount holding the
            # rootfs becomes private, and so its bind below (runc's rootfsParentMountPrivate).
            mount(None, _mount_point_of(rootfs), None, MS_PRIVATE)
    with step("bind rootfs"):
        # pivot_root(2) needs new_root to be a mount point; a btrfs subvolume is not one.
        if idmap is None:
            mount(rootfs, rootfs, None, MS_BIND | MS_REC)
        else:
            bind_idmapped(rootfs, idmap.userns_fd)
        root = inroot.open_root(rootfs)
    owner = idmap.owner if idmap is not None else None
    try:
        for item in steps:
            _apply(root, item, owner)
    finally:
        os.close(root)


@record(frozen=True)
class IdMappedRoot:
    """The container's user namespace, and the host ids its root has (to create files as
    on the idmapped root, where the host's root has no id)."""

    userns_fd: int
    owner: tuple[int, int]


def bind_idmapped(rootfs: str, userns_fd: int, target: str | None = None) -> None:
    from shocker.errors import RuntimeFailure
    from shocker.linux import idmap

    try:
        idmap.idmapped_bind(rootfs, userns_fd, target)
    except idmap.Unsupported as error:
        raise RuntimeFailure(
            f"--userns=auto needs an idmapped mount of the container's root: {error.strerror}",
            hint="use a kernel with idmapped mounts for this filesystem (Linux 5.15+ for "
            "btrfs), or --userns=host",
        ) from None


def own_cgroups() -> dict[str, str]:
    """This process's cgroup in each hierarchy, by the controllers /proc/self/cgroup names
    it with ("cpu,cpuacct", "name=systemd"; "" for cgroup2), as its cgroup namespace shows
    them: read before entering a new one, they are the host's paths."""
    own: dict[str, str] = {}
    with open("/proc/self/cgroup") as f:
        for line in f.read().splitlines():
            _, controllers, path = line.split(":", 2)
            own[controllers] = path
    return own


def host_cgroup_filesystems(own: dict[str, str] | None = None) -> list[CgroupFs]:
    """The filesystems mounted at and directly below /sys/fs/cgroup (proc(5), mountinfo),
    and the symlinks beside them; a v1 hierarchy keeps the options that name it. `own`
    (own_cgroups()): each hierarchy's cgroup to show as its root; none: the whole of it."""
    found: dict[str, CgroupFs] = {}
    own = own or {}
    base = "/sys/fs/cgroup"
    with open("/proc/self/mountinfo") as f:
        lines = f.read().splitlines()
    for line in lines:
        fields, _, tail = line.partition(" - ")
        point = fields.split(" ")[4]
        kind, _, options = [*tail.split(" "), "", ""][:3]
        if point != base and not point.startswith(base + "/"):
            continue
        relative = point[len(base) :].lstrip("/")
        if "/" in relative or kind not in ("tmpfs", "cgroup", "cgroup2"):
            continue
        data = None
        cgroup = own.get("", "/") if kind == "cgroup2" else "/"
        if kind == "cgroup":
            kept = [o for o in options.split(",") if o not in ("rw", "ro")]
            data = ",".join(o for o in kept if not o.startswith("release_agent="))
            names = set(kept)
            for controllers, path in own.items():
                if controllers and names.issuperset(controllers.split(",")):
                    cgroup = path
        found[relative] = CgroupFs(relative, kind, data, cgroup)
    if found.get("", CgroupFs("", "")).fstype == "tmpfs":
        with os.scandir(base) as entries:
            for entry in entries:
                if entry.is_symlink():
                    found[entry.name] = CgroupFs(
                        entry.name, "link", str(Path(entry.path).readlink())
                    )
    return sorted(found.values(), key=lambda fs: (fs.path != "", fs.fstype == "link", fs.path))


def _apply(root: int, item: Step, owner: tuple[int, int] | None = None) -> None:
    if isinstance(item, MountStep):
        with step(f"mount {item.target}"):
            fd = inroot.open_in_root(root, item.target, create=_target_kind(item), owner=owner)
            try:
                mount(item.source, inroot.fd_path(fd), item.fstype, item.flags, item.data)
            finally:
                os.close(fd)
    elif isinstance(item, RemountReadonly):
        with step(f"remount {item.target} read-only"):
            fd = inroot.open_in_root(root, item.target)
            try:
                if item.recursive:
                    from shocker.linux import idmap

                    idmap.readonly_tree(inroot.fd_path(fd))
                else:
                    remount_readonly(inroot.fd_path(fd), recursive=False)
            finally:
                os.close(fd)
    elif isinstance(item, Remount):
        with step(f"remount {item.target}"):
            fd = inroot.open_in_root(root, item.target)
            try:
                remount(inroot.fd_path(fd), item.flags)
            finally:
                os.close(fd)
    elif isinstance(item, DeviceNode):
        with step(f"create {item.path}"):
            parent, name = inroot.open_parent(root, item.path, owner=owner)
            try:
                kind = stat.S_IFBLK if item.is_block else stat.S_IFCHR
                os.mknod(name, kind | item.mode, os.makedev(item.major, item.minor), dir_fd=parent)
                node = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
                try:
                    Path(inroot.fd_path(node)).chmod(item.mode)  # mknod honours the umask
                finally:
                    os.close(node)
            finally:
                os.close(parent)
    elif isinstance(item, Symlink):
        with step(f"link {item.path}"):
            parent, name = inroot.open_parent(root, item.path, owner=owner)
            try:
                os.symlink(item.target, name, dir_fd=parent)
            finally:
                os.close(parent)


def _target_kind(item: MountStep) -> inroot.Create:
    """A directory to mount on, or for a bind of a file, an empty file."""
    if not item.is_bind:
        return "dir"
    source = Path(item.source)
    if source.is_dir():
        return "dir"
    if not source.exists():
        raise FileNotFoundError(2, "No such file or directory", item.source)
    return "file"


def switch_root(rootfs: str) -> None:
    """pivot_root into rootfs and detach the old root, as runc's pivotRoot does:
    pivot_root(".", ".") stacks the old root under the new one, then it is unmounted
    (pivot_root(2) NOTES; runc libcontainer/rootfs_linux.go)."""
    with step("pivot_root"):
        os.chdir(rootfs)
        pivot_root(".", ".")
        # Slave first, so the lazy unmount cannot propagate to the host's mounts.
        mount(None, ".", None, MS_SLAVE | MS_REC)
        umount2(".", MNT_DETACH)
        os.chdir("/")


def _mount_point_of(path: str) -> str:
    """The mount point of the mount that holds `path` (the longest one above it)."""
    found = "/"
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].encode().decode("unicode_escape")
            inside = path == point or path.startswith(point.rstrip("/") + "/")
            if inside and len(point) > len(found):
                found = point
    return found


def confine(steps: list[ConfinementStep]) -> None:
    """Masked paths get /dev/null (files) or an empty read-only tmpfs (directories), as
    runc's maskPaths does; read-only paths a read-only bind onto themselves."""
    for item in steps:
        for path in expand_pattern(item.path):
            if isinstance(item, Mask):
                with step(f"mask {path}"):
                    if Path(path).is_dir():
                        mount("tmpfs", path, "tmpfs", MS_RDONLY)
                    else:
                        mount("/dev/null", path, None, MS_BIND)
            else:
                with step(f"make {path} read-only"):
                    mount(path, path, None, MS_BIND | MS_REC)
                    remount_readonly(path, recursive=True)


def remount(path: str, flags: int) -> None:
    """A bind's per-mount flags set to `flags` plus the nosuid/nodev/noexec it has."""
    kept = os.statvfs(path).f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount(None, path, None, MS_BIND | MS_REMOUNT | flags | kept)


def remount_readonly(path: str, *, recursive: bool) -> None:
    """Read-only remount of a bind, keeping nosuid/nodev/noexec of what it binds (a remount
    sets every flag anew; runc does the same)."""
    kept = os.statvfs(path).f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | kept | (MS_REC if recursive else 0))


def expand_pattern(path: str) -> list[str]:
    """A path, or for one `*` component (cpu*), the existing paths it matches."""
    if "*" not in path:
        return [path] if os.path.lexists(path) else []
    parent, _, rest = path.partition("*")
    directory, _, prefix = parent.rpartition("/")
    suffix, _, tail = rest.partition("/")
    try:
        names = sorted(
            e.name
            for e in os.scandir(directory or "/")
            if e.name.startswith(prefix) and e.name.endswith(suffix)
        )
    except OSError:
        return []
    found = [f"{directory}/{name}" + (f"/{tail}" if tail else "") for name in names]
    return [p for p in found if os.path.lexists(p)]


_SKIPPED_DEVICES = ("/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/console", "/dev/ptmx")


def host_devices(root: str = "/dev") -> list[DeviceNode]:
    """The host's device nodes, recreated in a privileged container's /dev (as Docker does)."""
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [d for d in subdirs if f"{directory}/{d}" not in _SKIPPED_DEVICES]
        for name in files:
            path = f"{directory}/{name}"
            if path in _SKIPPED_DEVICES:
                continue
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
                found.append(
                    DeviceNode(
                        path,
                        os.major(info.st_rdev),
                        os.minor(info.st_rdev),
                        is_block=stat.S_ISBLK(info.st_mode),
                        mode=stat.S_IMODE(info.st_mode),
                    )
                )
    return found
