"""An image as layers, for what takes images off this machine (push, save).

A pulled or committed image has layer records already. An image without them (`init`, or
one a commit replaced in place) gets one layer holding its whole filesystem, computed once
and recorded, so the next push or save finds the same blob.
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
