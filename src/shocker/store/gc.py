"""Freeing the layer subvolumes and blobs that nothing uses any more.

Roots are the image records and the build cache entries: each names the layers (chain ids,
or the ids of pending layers' snapshots) and blobs (digests) it needs. Containers are no
roots: a container's filesystem is a snapshot of its own, sharing extents with the image but
needing no layer subvolume.

Locking: whoever makes layers or blobs before the record that names them (pull, commit,
build) holds the `gc` lock shared (`creating`) from the first layer until that record is
written; a sweep holds it exclusively, so it never takes a layer whose record is still to
come for garbage, and a pull never builds on a layer a sweep is deleting.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from shocker.errors import StorageError
from shocker.record import record
from shocker.store import btrfs
from shocker.store.atomic import file_lock
from shocker.store.buildcache import BuildCache, CacheEntry
from shocker.store.images import ImageRecord, ImageStore
from shocker.store.layout import Layout
from shocker.store.pending import PENDING_PREFIX

GC_LOCK = "gc"


@record(frozen=True)
class LiveSet:
    """What the roots need: layer chain ids and blob digests (both `sha256:<hex>`)."""

    chain_ids: frozenset[str]
    digests: frozenset[str]


@record(frozen=True)
class Swept:
    """What a sweep deleted: layer chain ids, blob digests, and the blobs' bytes."""

    layers: tuple[str, ...]
    blobs: tuple[str, ...]
    blob_bytes: int


def live_set(images: Iterable[ImageRecord], entries: Iterable[CacheEntry]) -> LiveSet:
    """The layers and blobs that `images` and the build cache `entries` name."""
    chain_ids: set[str] = set()
    digests: set[str] = set()
    for image in images:
        chain_ids.update(image.chain_ids)
        digests.update(image.blob_digests)
    for entry in entries:
        chain_ids.update(entry.chain_ids)
        digests.update(entry.digests)
    return LiveSet(frozenset(chain_ids), frozenset(digests))


@contextmanager
def creating(layout: Layout) -> Iterator[None]:
    """Held while layers or blobs exist that no record names yet (no sweep meanwhile)."""
    with file_lock(layout.lock(GC_LOCK), shared=True):
        yield


@contextmanager
def exclusive(layout: Layout) -> Iterator[None]:
    """No pull, commit or build is between making its layers and writing its record."""
    with file_lock(layout.lock(GC_LOCK)):
        yield


def stored_layers(layout: Layout) -> list[str]:
    """Chain ids of the layer subvolumes on disk, and ids of pending layers' snapshots."""
    found = []
    for name in _listdir(layout.layers):
        if _is_hex(name):
            found.append(f"sha256:{name}")
        elif name.startswith("pending-") and _is_hex(name[8:], 32):
            found.append(PENDING_PREFIX + name[8:])
    return found


def stored_blobs(layout: Layout) -> list[str]:
    """Digests of the committed blobs on disk (not partial downloads)."""
    return [f"sha256:{name}" for name in _listdir(layout.blobs / "sha256") if _is_hex(name)]


def _is_hex(name: str, digits: int = 64) -> bool:
    return len(name) == digits and all(c in "0123456789abcdef" for c in name)


def garbage(layout: Layout, live: LiveSet) -> tuple[list[str], list[str]]:
    """Chain ids and digests stored on disk that `live` does not name."""
    layers = [c for c in stored_layers(layout) if c not in live.chain_ids]
    blobs = [d for d in stored_blobs(layout) if d not in live.digests]
    return layers, blobs


def sweep(layout: Layout, partials: bool = False) -> Swept:
    """Delete every layer and blob no image and no build cache entry names.

    Takes the `gc` lock exclusively; with `partials`, downloads left by pulls that are no
    longer running go too (without it they stay for a later pull to resume).
    """
    with exclusive(layout):
        return sweep_locked(layout, partials)


def sweep_locked(layout: Layout, partials: bool = False) -> Swept:
    """`sweep` for a caller already holding the `gc` lock exclusively."""
    live = live_set(ImageStore(layout).list(), BuildCache(layout).entries())
    layers, blobs = garbage(layout, live)
    for chain_id in layers:
        _delete_layer(layout, chain_id)
    freed = 0
    for digest in blobs:
        freed += _unlink(layout.blob(digest))
    if partials:
        partial_dir = layout.blobs / "partial"
        for name in _listdir(partial_dir):
            freed += _unlink(partial_dir / name)
    return Swept(tuple(layers), tuple(blobs), freed)


def _delete_layer(layout: Layout, chain_id: str) -> None:
    lock = layout.lock(f"layer-{chain_id.partition(':')[2]}")
    with file_lock(lock):
        btrfs.delete_subvolume(layout.layer(chain_id))
    lock.unlink(missing_ok=True)


def _listdir(directory: Path) -> list[str]:
    try:
        with os.scandir(directory) as entries:
            return sorted(entry.name for entry in entries)
    except FileNotFoundError:
        return []


def _unlink(path: Path) -> int:
    """Remove one file; its size in bytes (0 if it was gone already)."""
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:
        return 0
    except OSError as error:
        raise StorageError(f"cannot delete {path}: {error.strerror}") from error
    return size
