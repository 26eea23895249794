"""Read-only layer subvolumes keyed by chain id: the parent's snapshot plus one layer."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from shocker.store import btrfs
from shocker.store.atomic import file_lock, move
from shocker.store.ids import random_hex
from shocker.store.layout import Layout


def scratch_path(layout: Layout, kind: str) -> Path:
    """A fresh name under layout.tmp: `kind-<pid>-<random>`, swept once its process is gone."""
    return layout.tmp / f"{kind}-{os.getpid()}-{random_hex(8)}"


class LayerStore:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def has(self, chain_id: str) -> bool:
        return self.path(chain_id).exists()

    def path(self, chain_id: str) -> Path:
        return self.layout.layer(chain_id)

    def create(
        self, chain_id: str, parent_chain_id: str | None, apply: Callable[[Path], None]
    ) -> Path:
        """The layer subvolume of `chain_id`, made from its parent and `apply` if missing.

        Work happens under a scratch name renamed into place once applied, so a crash never
        leaves a half-applied layer under its chain id.
        """
        return self._make(chain_id, parent_chain_id, apply)

    def scratch(self, parent_chain_id: str | None) -> Path:
        """A writable subvolume under layout.tmp with the files of layer `parent_chain_id`
        (empty for None): where `extend` applies the layers above it. The caller deletes it
        or moves it (a pull's image root filesystem)."""
        return self._scratch(parent_chain_id, None)

    def extend(self, chain_id: str, scratch: Path, apply: Callable[[Path], None]) -> Path:
        """Make the layer subvolume of `chain_id` (if missing): `apply` onto `scratch`, which
        holds the files of the layer below, then a read-only snapshot of it as the layer.

        Returns the writable subvolume holding the layer's files, for the layer above:
        `scratch` itself, or, when the layer existed already (another pull made it), a
        snapshot of that layer (`scratch` deleted). On failure `scratch` is deleted.

        One snapshot per layer and no read-only flag to change: each of those ioctls
        commits a btrfs transaction, and a pull used to snapshot the parent, rename the
        scratch and set its flag for every layer (cold pull of 4 layers, 78 MB, traced on
        the loaded 2-core machine: from the first layer's last byte written to the image
        record 135 -> 65 ms; 8 interleaved runs: median 1313 -> 934 ms, one new 10 MB layer
        onto 3 held 442 -> 273 ms).
        """
        final = self.path(chain_id)
        try:
            with file_lock(self.layout.lock(f"layer-{chain_id.partition(':')[2]}")):
                if not final.exists():
                    final.parent.mkdir(parents=True, exist_ok=True)
                    apply(scratch)
                    btrfs.snapshot(scratch, final, readonly=True)
                    return scratch
        except BaseException:
            btrfs.delete_subvolume(scratch)
            raise
        btrfs.delete_subvolume(scratch)
        return self._scratch(chain_id, None)

    def _scratch(self, parent_chain_id: str | None, source: Path | None) -> Path:
        """A new subvolume under layout.tmp: a snapshot of `source` or of the parent layer,
        else empty."""
        scratch = scratch_path(self.layout, "layer")
        if source is None and parent_chain_id is not None:
            source = self.path(parent_chain_id)
        if source is None:
            btrfs.create_subvolume(scratch)
        else:
            btrfs.snapshot(source, scratch)
        return scratch

    def adopt(self, chain_id: str, source: Path) -> Path:
        """A read-only snapshot of `source` as the layer subvolume of `chain_id` (kept if
        there): a layer computed from a filesystem rather than applied from a tar."""
        return self._make(chain_id, None, lambda _: None, source)

    def _make(
        self,
        chain_id: str,
        parent_chain_id: str | None,
        apply: Callable[[Path], None],
        source: Path | None = None,
    ) -> Path:
        final = self.path(chain_id)
        with file_lock(self.layout.lock(f"layer-{chain_id.partition(':')[2]}")):
            if final.exists():
                return final
            final.parent.mkdir(parents=True, exist_ok=True)
            scratch = self._scratch(parent_chain_id, source)
            try:
                apply(scratch)
                # Renamed before it turns read-only: btrfs refuses to move a read-only
                # subvolume to another directory (its ".." would change).
                move(scratch, final)
            except BaseException:
                btrfs.delete_subvolume(scratch)
                raise
            btrfs.set_readonly(final, True)
        return final
