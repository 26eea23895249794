"""The one entry point to SHOCKER_ROOT: checks it is btrfs and hands out the stores."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from shocker.errors import StorageError
from shocker.settings import Settings
from shocker.static import TYPE_CHECKING
from shocker.store import btrfs
from shocker.store.blobs import BlobStore
from shocker.store.images import ImageStore
from shocker.store.layers import LayerStore
from shocker.store.layout import Layout

if TYPE_CHECKING:
    from shocker.store.buildcache import BuildCache
    from shocker.store.containers import ContainerStore
    from shocker.store.volumes import VolumeStore


class Store:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.blobs = BlobStore(layout)
        self.layers = LayerStore(layout)
        self.images = ImageStore(layout)

    # Loaded on first use: `pull` and the image commands need neither, and the container
    # store's modules cost ~1.5 ms of imports (python -X importtime) before a pull's
    # first request.
    @cached_property
    def containers(self) -> ContainerStore:
        from shocker.store.containers import ContainerStore

        return ContainerStore(self.layout)

    @cached_property
    def volumes(self) -> VolumeStore:
        from shocker.store.volumes import VolumeStore

        return VolumeStore(self.layout)

    @cached_property
    def build_cache(self) -> BuildCache:
        # Only `build` and the commands that clean up use it: not imported on every start.
        from shocker.store.buildcache import BuildCache

        return BuildCache(layout=self.layout)

    @classmethod
    def open(cls, settings: Settings) -> Store:
        """The store at settings.root; StorageError (hint: setup) if it is not btrfs."""
        root = settings.root
        if not btrfs.is_btrfs(root):
            raise StorageError(f"{root} is not a btrfs filesystem", hint="run 'shocker setup'")
        layout = Layout(root)
        for directory in (
            layout.meta,
            layout.blobs,
            layout.layers,
            layout.images,
            layout.containers,
            layout.network,
            layout.locks,
            layout.tmp,
        ):
            try:
                directory.mkdir(mode=0o700 if directory == layout.meta else 0o755, exist_ok=True)
            except OSError as error:
                raise StorageError(f"cannot create {directory}: {error.strerror}") from error
        sweep_scratch(layout)
        return cls(layout)


def sweep_scratch(layout: Layout) -> list[Path]:
    """Delete leftovers under layout.tmp whose process (`kind-<pid>-...`) is gone."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(layout.tmp))
    except FileNotFoundError:
        return removed
    for entry in entries:
        if _owner_alive(entry.name):
            continue
        path = Path(entry.path)
        try:
            btrfs.delete_subvolume(path)
        except StorageError:
            continue  # busy (a mount?); a later sweep retries
        removed.append(path)
    return removed


def _owner_alive(name: str) -> bool:
    fields = name.split("-")
    if len(fields) < 2 or not fields[1].isdigit():
        return True  # not ours to judge
    try:
        os.kill(int(fields[1]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
