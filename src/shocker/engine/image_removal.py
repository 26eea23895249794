"""Removing images as Docker does: refused while a container uses one (`-f` overrides for
stopped containers, never for running ones), then the layers and blobs that no other image
and no build cache entry needs are freed."""

from __future__ import annotations

from shocker.errors import Conflict
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from shocker.store.containers import ContainerRecord
    from shocker.store.images import ImageRecord, RemovedName
    from shocker.store.store import Store


def check_unused(image: ImageRecord, containers: Iterable[ContainerRecord], force: bool) -> None:
    """Raise Conflict (Docker's wording) if a container made from `image` forbids removal."""
    from shocker.engine.status import is_running

    users = [c for c in containers if c.image_id == image.id]
    running = [c for c in users if is_running(c)]
    if running:
        raise Conflict(
            f"conflict: unable to delete {image.id} (cannot be forced) - "
            f"image is being used by running container {running[0].id}",
            hint=f"stop and remove {running[0].id} first",
        )
    if users and not force:
        raise Conflict(
            f"conflict: unable to delete {image.id} (must be forced) - "
            f"image is being used by stopped container {users[0].id}",
            hint=f"remove {users[0].id} first, or use 'rmi -f'",
        )


def remove_image(store: Store, image: ImageRecord, force: bool = False) -> None:
    """Remove one image (checked against the containers under the id lock), then sweep."""
    from shocker.store.gc import sweep

    remove_unswept(store, image, force)
    sweep(store.layout)


def remove_unswept(store: Store, image: ImageRecord, force: bool = False) -> None:
    """Remove one image's record and root filesystem; its layers wait for a sweep."""
    store.images.remove(
        image.id, check=lambda current: check_unused(current, store.containers.list(), force)
    )


def remove_name(store: Store, text: str, force: bool = False) -> RemovedName | None:
    """`rmi NAME`: the name goes; with its image's last name the image too (checked as
    `remove_image`), then a sweep. None when `text` is no name."""
    from shocker.store.gc import sweep

    removed = store.images.remove_name(
        text, check=lambda current: check_unused(current, store.containers.list(), force)
    )
    if removed is not None and removed.image_removed:
        sweep(store.layout)
    return removed
