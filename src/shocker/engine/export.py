"""export: a container's filesystem as one tar (`docker export`), from a read-only snapshot
taken first, so a running container's files are one consistent moment."""

from __future__ import annotations

import os
import stat

from shocker.errors import StorageError
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from shocker.store.layerdiff import Change
    from shocker.store.store import Store

_BUFFER = 1 << 20


def export(store: Store, container: str, fd: int, label: str = "the export") -> None:
    """Write container `container`'s filesystem to `fd` as a tar (owners, modes, links,
    device nodes and xattrs kept; sockets left out, as Docker does); `label` names the
    output in errors."""
    from shocker.store import btrfs
    from shocker.store.layerdiff import changes, write_layer_tar
    from shocker.store.layers import scratch_path

    record = store.containers.resolve(container)
    scratch = scratch_path(store.layout, "export")
    btrfs.snapshot(store.layout.container_rootfs(record.id), scratch, readonly=True)
    try:
        entries = _without_sockets(scratch, changes(None, scratch))
        try:
            with os.fdopen(os.dup(fd), "wb", buffering=_BUFFER) as out:
                write_layer_tar(scratch, entries, out, None)
        except OSError as error:
            raise StorageError(f"cannot write {label}: {error.strerror}") from None
    finally:
        btrfs.delete_subvolume(scratch)


def _without_sockets(root: Path, entries: list[Change]) -> list[Change]:
    kept = []
    for change in entries:
        if not stat.S_ISSOCK((root / change.path).lstat().st_mode):
            kept.append(change)
    return kept
