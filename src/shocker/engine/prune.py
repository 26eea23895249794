"""The prune commands, as Docker 23+ has them: what each removes and the space it gives back.

- containers: every container that is not running;
- images: dangling ones (no name) that no container was made from; `every`: all of those;
- build cache: every entry;
- volumes: anonymous ones no container mounts; `every`: named ones too.

Images and build cache entries are removed under the `gc` lock held exclusively, so the
space counted is the space freed: files no remaining image, layer or container shares.
"""

from __future__ import annotations

from shocker.errors import Conflict, NotFound
from shocker.record import record
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from shocker.settings import Settings
    from shocker.store.containers import ContainerRecord
    from shocker.store.images import ImageRecord
    from shocker.store.store import Store
    from shocker.store.usage import SharedUsage


@record(frozen=True)
class Pruned:
    """What went, as Docker lists it (`untagged: …`, `deleted: …`, ids), and its bytes."""

    deleted: tuple[str, ...]
    reclaimed: int


def prune_containers(store: Store, settings: Settings) -> Pruned:
    from shocker.engine.lifecycle import remove
    from shocker.engine.status import is_running

    deleted: list[str] = []
    reclaimed = 0
    image_files: dict[str, SharedUsage] = {}
    for container in store.containers.list():
        if is_running(container):
            continue
        size = writable_size(store, container, image_files)
        try:
            remove(store, settings, container, force=False)
        except (Conflict, NotFound):
            continue  # started or removed meanwhile
        deleted.append(container.id)
        reclaimed += size
    return Pruned(tuple(deleted), reclaimed)


def writable_size(
    store: Store, container: ContainerRecord, image_files: dict[str, SharedUsage] | None = None
) -> int:
    """Bytes of the files the container added or changed over its image (Docker's SizeRw).

    `image_files` caches each image's files across calls (a copy is used per container).
    """
    from shocker.store.usage import SharedUsage

    cache = image_files if image_files is not None else {}
    if container.image_id not in cache:
        counter = SharedUsage()
        counter.add(store.layout.image_rootfs(container.image_id))
        cache[container.image_id] = counter
    counter = cache[container.image_id].copy()
    return counter.add(store.layout.container_rootfs(container.id))


def prune_images(store: Store, every: bool) -> Pruned:
    """Images no container was made from: dangling ones, or all with `every`."""
    from shocker.engine.image_removal import remove_unswept
    from shocker.store.gc import exclusive, sweep_locked

    with exclusive(store.layout):
        images = store.images.list()
        used = {c.image_id for c in store.containers.list()}
        victims = [i for i in images if i.id not in used and (every or i.reference is None)]
        reclaimed = _freed_by_removing(store, images, victims)
        deleted: list[str] = []
        for image in sorted(victims, key=lambda i: i.created):
            try:
                remove_unswept(store, image)
            except (Conflict, NotFound):
                continue  # a container was made from it, or it went, meanwhile
            deleted += [f"untagged: {name}" for name in image.names]
            deleted.append(f"deleted: {image.id}")
        reclaimed += sweep_locked(store.layout).blob_bytes
    return Pruned(tuple(deleted), reclaimed)


def prune_build_cache(store: Store) -> Pruned:
    from shocker.store.gc import exclusive, sweep_locked

    with exclusive(store.layout):
        images = store.images.list()
        entries = store.build_cache.entries()
        reclaimed = _freed_by_removing(store, images, [], forget_cache=True)
        for entry in entries:
            store.build_cache.remove(entry)
        reclaimed += sweep_locked(store.layout).blob_bytes
    return Pruned(tuple(entry.key[:12] for entry in entries), reclaimed)


def _freed_by_removing(
    store: Store,
    images: list[ImageRecord],
    victims: list[ImageRecord],
    forget_cache: bool = False,
) -> int:
    """Bytes of the victims' root filesystems and of the layers that become garbage, less
    what a remaining image, layer, or container whose image is gone still shares (blobs
    are counted by the sweep itself)."""
    from shocker.store.gc import garbage, live_set
    from shocker.store.usage import SharedUsage

    layout = store.layout
    gone = {i.id for i in victims}
    kept = [i for i in images if i.id not in gone]
    live = live_set(kept, [] if forget_cache else store.build_cache.entries())
    layers, _ = garbage(layout, live)
    listed = {i.id for i in images}
    shared = SharedUsage()
    keeping: list[Path] = [layout.image_rootfs(i.id) for i in kept]
    keeping += [layout.layer(c) for c in sorted(live.chain_ids)]
    keeping += [
        layout.container_rootfs(c.id) for c in store.containers.list() if c.image_id not in listed
    ]
    shared.add_all(keeping)
    return shared.add_all([layout.image_rootfs(i) for i in sorted(gone)]) + shared.add_all(
        layout.layer(c) for c in layers
    )


def prune_volumes(store: Store, every: bool) -> Pruned:
    """Volumes no container mounts: anonymous ones, or named ones too with `every`."""
    from shocker.store.usage import tree_size

    used = volumes_in_use(store)
    deleted: list[str] = []
    reclaimed = 0
    for name in store.volumes.list():
        if name in used or not (every or store.volumes.is_anonymous(name)):
            continue
        size = tree_size(store.volumes.path(name))
        try:
            store.volumes.remove(name)
        except NotFound:
            continue
        deleted.append(name)
        reclaimed += size
    return Pruned(tuple(deleted), reclaimed)


def volumes_in_use(store: Store) -> set[str]:
    """Names of the volumes any container (running or not) mounts."""
    return {
        mount.volume
        for container in store.containers.list()
        for mount in container.config.volumes
        if mount.volume
    }
