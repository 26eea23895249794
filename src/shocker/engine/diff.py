"""`diff`: what a container changed in its image's files, as Docker's A/C/D lines.

Both trees are btrfs subvolumes (the container a snapshot of the image), compared by the
metadata Docker's archive changes compare (moby go-archive changes.go): type, mode, owner,
device, and for non-directories size, mtime and link target. A change marks its parent
directories changed too, as Docker prints them.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from shocker.record import record
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from shocker.store.containers import ContainerRecord
    from shocker.store.store import Store

# Mount points shocker itself provides; what a container sees there is not its image's.
PROVIDED = ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/dev", "/proc", "/sys")


@record(frozen=True)
class Change:
    kind: str  # "A", "C" or "D"
    path: str


def container_changes(store: Store, container: ContainerRecord) -> list[Change]:
    from shocker.errors import NotFound

    image_root = store.layout.image_rootfs(container.image_id)
    if not image_root.is_dir():
        raise NotFound(f"the image {container.image_id} of {container.id} no longer exists")
    skipped = {*PROVIDED, *(v.destination for v in container.config.volumes)}
    return changes(image_root, store.layout.container_rootfs(container.id), skipped)


def changes(old_root: Path, new_root: Path, skipped: Iterable[str] = ()) -> list[Change]:
    """A/C/D lines between two trees, sorted by path; `skipped` paths and below are ignored."""
    skip = set(skipped)
    old = _index(old_root, skip)
    new = _index(new_root, skip)
    found: dict[str, str] = {}
    for path, meta in new.items():
        if path not in old:
            found[path] = "A"
        elif meta != old[path]:
            found[path] = "C"
    for path in old:
        if path not in new and _parent(path) not in old.keys() - new.keys():
            found[path] = "D"  # under a deleted directory only the directory is listed
    for path in list(found):
        parent = _parent(path)
        while parent != "/" and parent not in found:
            found[parent] = "C"
            parent = _parent(parent)
    return [Change(kind, path) for path, kind in sorted(found.items())]


def _parent(path: str) -> str:
    return path.rpartition("/")[0] or "/"


def _index(root: Path, skip: set[str]) -> dict[str, tuple[object, ...]]:
    entries: dict[str, tuple[object, ...]] = {}
    pending = [("", str(root))]
    while pending:
        relative, directory = pending.pop()
        try:
            listing = list(os.scandir(directory))
        except OSError:
            continue
        for entry in listing:
            path = f"{relative}/{entry.name}"
            if path in skip:
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            entries[path] = _meta(entry.path, info)
            if stat.S_ISDIR(info.st_mode):
                pending.append((path, entry.path))
    return entries


def _meta(path: str, info: os.stat_result) -> tuple[object, ...]:
    common = (info.st_mode, info.st_uid, info.st_gid, info.st_rdev)
    if stat.S_ISDIR(info.st_mode):
        return common
    target = str(Path(path).readlink()) if stat.S_ISLNK(info.st_mode) else None
    return (*common, info.st_size, info.st_mtime_ns, target)
