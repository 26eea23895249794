"""`system df`: images, containers, volumes and build cache, each with the space a prune
would give back (Docker's TYPE TOTAL ACTIVE SIZE RECLAIMABLE)."""

from __future__ import annotations

from shocker.record import record
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from shocker.store.images import ImageRecord
    from shocker.store.store import Store


@record(frozen=True)
class UsageRow:
    kind: str  # "Images", "Containers", "Local Volumes", "Build Cache"
    total: int
    active: int
    size: int
    reclaimable: int


def disk_usage(store: Store) -> list[UsageRow]:
    from shocker.engine.prune import volumes_in_use, writable_size
    from shocker.engine.status import is_running
    from shocker.store.usage import SharedUsage, tree_size

    images = store.images.list()
    containers = store.containers.list()
    used_images = {c.image_id for c in containers}
    active_images = [i for i in images if i.id in used_images]
    every_image = SharedUsage()
    image_size = every_image.add_all(_image_trees(store, images)) + _blobs_size(store, images)
    active_size = SharedUsage().add_all(_image_trees(store, active_images)) + _blobs_size(
        store, active_images
    )

    image_files: dict[str, SharedUsage] = {}
    container_sizes = {c.id: writable_size(store, c, image_files) for c in containers}
    running = {c.id for c in containers if is_running(c)}

    volumes = store.volumes.list()
    in_use = volumes_in_use(store)
    volume_sizes = {name: tree_size(store.volumes.path(name)) for name in volumes}

    entries = store.build_cache.entries()
    image_chains = {c for i in images for c in i.chain_ids}
    image_blobs = {d for i in images for d in i.blob_digests}
    cache_only = sorted({c for e in entries for c in e.chain_ids} - image_chains)
    cache_blobs = sorted({d for e in entries for d in e.digests} - image_blobs)
    cache_size = every_image.add_all(store.layout.layer(c) for c in cache_only) + sum(
        _blob_size(store, d) for d in cache_blobs
    )
    return [
        UsageRow("Images", len(images), len(active_images), image_size, image_size - active_size),
        UsageRow(
            "Containers",
            len(containers),
            len(running),
            sum(container_sizes.values()),
            sum(size for cid, size in container_sizes.items() if cid not in running),
        ),
        UsageRow(
            "Local Volumes",
            len(volumes),
            len(in_use & set(volumes)),
            sum(volume_sizes.values()),
            sum(size for name, size in volume_sizes.items() if name not in in_use),
        ),
        UsageRow("Build Cache", len(entries), 0, cache_size, cache_size),
    ]


def _image_trees(store: Store, images: list[ImageRecord]) -> list[Path]:
    """Each image's root filesystem and layer subvolumes (blobs are counted apart)."""
    trees = [store.layout.image_rootfs(i.id) for i in images]
    chains = sorted({c for i in images for c in i.chain_ids})
    return trees + [store.layout.layer(c) for c in chains]


def _blobs_size(store: Store, images: list[ImageRecord]) -> int:
    return sum(_blob_size(store, d) for d in sorted({d for i in images for d in i.blob_digests}))


def _blob_size(store: Store, digest: str) -> int:
    from shocker.store.usage import file_size

    return file_size(store.layout.blob(digest))
