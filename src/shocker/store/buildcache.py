"""The build cache: one record per build step, keyed by everything the step's result
depends on, holding the image config and layers after the step.

An entry keeps alive the layer subvolumes and blobs of its `chain_ids` / `digests` and, when
a build ended at it, the image `image_ids` names. Forgetting an entry (`remove`, `prune`)
deletes only the record: freeing layers and blobs that no image and no other entry uses is
the caller's job (the prune commands), as the same layers may be held by images.
"""

from __future__ import annotations

import re

from shocker.errors import StorageError
from shocker.record import asdict, record
from shocker.static import TYPE_CHECKING
from shocker.store.atomic import file_lock, read_json, write_json_atomic
from shocker.store.layout import Layout
from shocker.store.records import from_dict, now, record_files

if TYPE_CHECKING:
    from typing import Any

_KEY = re.compile(r"^[0-9a-f]{64}$")


@record()
class CacheEntry:
    key: str  # sha256 hex of the step's cache key (parent key, instruction, inputs)
    parent: str | None  # key of the step before; None for a stage's first step
    step: str  # the instruction as written, for listings ("RUN make")
    config: dict[str, Any]  # the image config after the step
    layers: list[dict[str, Any]]  # the layer records after the step (pull's shape)
    created: str
    image_id: str | None = None  # the image a build ending at this step produced

    @property
    def chain_ids(self) -> list[str]:
        """The layer subvolumes this entry needs (the whole stack under its result)."""
        return [str(layer["chain_id"]) for layer in self.layers]

    @property
    def digests(self) -> list[str]:
        """The blobs of those layers."""
        return [str(layer["digest"]) for layer in self.layers]

    @property
    def image_ids(self) -> list[str]:
        """Images a cache hit on this entry hands out again (checked to exist on use)."""
        return [self.image_id] if self.image_id else []


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise StorageError(f"invalid build cache key {key!r}")
    return key


class BuildCache:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def get(self, key: str) -> CacheEntry | None:
        try:
            return from_dict(CacheEntry, read_json(self.layout.build_cache_entry(check_key(key))))
        except (FileNotFoundError, StorageError, TypeError):
            return None  # absent, or a damaged record: a cache miss, rebuilt and rewritten

    def put(self, entry: CacheEntry) -> None:
        """Record a step's result; its layers must already be stored (written last)."""
        self.layout.build_cache.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.layout.build_cache_entry(check_key(entry.key)), asdict(entry))

    def set_image(self, key: str, image_id: str) -> None:
        """Remember that a build ending at step `key` produced `image_id`."""
        with file_lock(self.layout.lock("buildcache")):
            entry = self.get(key)
            if entry is not None and entry.image_id != image_id:
                entry.image_id = image_id
                self.put(entry)

    def entries(self) -> list[CacheEntry]:
        found = []
        for path in record_files(self.layout.build_cache):
            entry = self.get(path.stem) if _KEY.match(path.stem) else None
            if entry is not None:
                found.append(entry)
        return found

    def remove(self, entry: CacheEntry) -> None:
        """Forget one entry (idempotent); its layers stay until no one uses them."""
        with file_lock(self.layout.lock("buildcache")):
            self.layout.build_cache_entry(check_key(entry.key)).unlink(missing_ok=True)

    def prune(self) -> list[CacheEntry]:
        """Forget every entry; the removed ones, so the caller can free what they held."""
        removed = self.entries()
        for entry in removed:
            self.remove(entry)
        return removed


def new_entry(
    key: str,
    parent: str | None,
    step: str,
    config: dict[str, Any],
    layers: list[dict[str, Any]],
) -> CacheEntry:
    return CacheEntry(
        key=key, parent=parent, step=step, config=config, layers=layers, created=now()
    )
