"""An image as layers, for what takes images off this machine (push, save) or builds on it.

A pulled image has layer records already; a committed one may have pending layers at its
top (store/pending.py), made here on first need. An image without layer records (`init`,
or one a commit replaced in place) gets one layer holding its whole filesystem, computed
once and recorded, so the next push or save finds the same blob.
"""

from __future__ import annotations

from shocker.errors import StorageError
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.store.images import ImageRecord
    from shocker.store.store import Store


def with_layers(store: Store, image: ImageRecord) -> ImageRecord:
    """`image` with layer records whose blobs are all stored here (StorageError if one is
    missing: the image was pulled before blobs were kept, or they were removed)."""
    image = made(store, image)
    if not image.layers:
        from shocker.engine.commit import snapshot_layer
        from shocker.oci.image_config import empty_config

        config = image.config or empty_config()
        # A container's filesystem has the runtime's mount points in it; a directory
        # imported with `init` is the user's own content, all of it.
        skipped: frozenset[str] | None = None if image.source == "commit" else frozenset()
        from shocker.store.gc import creating

        with creating(store.layout):  # no sweep between the new layer and its record
            layers, config = snapshot_layer(
                store,
                None,
                store.layout.image_rootfs(image.id),
                config,
                f"shocker {image.source}",
                None,
                skipped,
            )
            image = store.images.set_layers(image.id, image.created, layers, config)
    for layer in image.layers:
        if not store.blobs.has(str(layer["digest"]), int(layer["size"])):
            name = image.reference or image.id
            raise StorageError(
                f"layer {str(layer['digest'])[7:19]} of {name} is not stored here",
                hint=f"pull {name} again",
            )
    return image


def made(store: Store, image: ImageRecord) -> ImageRecord:
    """`image` with its pending layers made (bottom up): each one's tar, diff_id and gzip
    blob from its read-only snapshot and the layer below, the snapshot kept again as the
    layer subvolume of its chain id, and every record naming it updated.

    Under the layer's own lock, so two commands needing it make it once; the second finds
    the record updated. The `gc` lock is held shared throughout (blob and subvolume exist
    before the records naming them). The pending snapshot is left for the sweep: a commit
    that read the record before the update may still name it.
    """
    if not image.pending_keys:
        return image
    from shocker.store.atomic import file_lock
    from shocker.store.gc import creating
    from shocker.store.layerdiff import PROVIDED, create_layer
    from shocker.store.pending import PENDING_PREFIX, is_pending

    with creating(store.layout):
        for key in image.pending_keys:
            with file_lock(store.layout.lock(f"pending-{key}")):
                image = store.images.get(image.id)
                if key not in image.pending_keys:
                    continue  # made meanwhile by another command
                position = [entry.get("pending") for entry in image.layers].index(key)
                below, entry = image.layers[:position], image.layers[position]
                if any(is_pending(layer) for layer in below):
                    raise StorageError(f"image {image.id}: a pending layer is below another")
                parent_chain = str(below[-1]["chain_id"]) if below else None
                parent = store.layers.path(parent_chain) if parent_chain else None
                snapshot = store.layout.layer(PENDING_PREFIX + key)
                for needed in (snapshot, parent):
                    # A missing tree would read as empty: a layer deleting everything.
                    if needed is not None and not needed.is_dir():
                        raise StorageError(
                            f"the layers of {image.reference or image.id} are damaged: "
                            f"{needed.name} is missing",
                            hint="commit the container again",
                        )
                layer = create_layer(
                    store, parent, parent_chain, snapshot, entry.get("epoch"), skipped=PROVIDED
                )
                store.images.settle_pending(key, layer.as_record())
        return store.images.get(image.id)
