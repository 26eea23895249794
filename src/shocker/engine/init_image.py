"""Import a directory as a new image: a subvolume holding a copy of it (reflinked on btrfs)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from shocker.errors import NotFound, StorageError
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.store.images import ImageRecord
    from shocker.store.store import Store


def import_directory(store: Store, directory: str, name: str | None = None) -> ImageRecord:
    source = Path(directory)
    if not source.is_dir():
        raise NotFound(f"No directory named '{directory}' exists")
    from shocker.oci.image_config import empty_config
    from shocker.store import btrfs

    staging = store.layout.tmp / f"init-{os.getpid()}"
    btrfs.delete_subvolume(staging)
    btrfs.create_subvolume(staging)
    try:
        # cp -a keeps owners, modes, links, devices and xattrs; --reflink shares extents.
        done = subprocess.run(
            ["cp", "-a", "--reflink=auto", f"{source}/.", f"{staging}/"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "cp failed"
            raise StorageError(f"cannot import {directory}: {reason}")
        return store.images.add(
            rootfs_from=staging,
            reference=name or directory,
            repository_digest=None,
            config=empty_config(),
            layers=[],
            source="init",
        )
    finally:
        btrfs.delete_subvolume(staging)
        shutil.rmtree(staging, ignore_errors=True)
