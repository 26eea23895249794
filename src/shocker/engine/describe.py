"""`inspect`: the full record of an image or a container as plain data."""

from __future__ import annotations

from shocker.errors import NotFound
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

    from shocker.store.store import Store


def describe(store: Store, target: str, kind: str | None = None) -> dict[str, Any]:
    if kind != "image" and (target.startswith("ps-") or kind == "container" or kind is None):
        try:
            record = store.containers.resolve(target)
            data = record.to_json()
            data["rootfs"] = str(store.layout.container_rootfs(record.id))
            return data
        except NotFound:
            if kind == "container":
                raise
    try:
        image = store.images.resolve(target)
    except NotFound:
        if kind is None:
            raise NotFound(f"No image or container named '{target}' exists") from None
        raise
    from shocker.record import asdict

    data = asdict(image)
    data["rootfs"] = str(store.layout.image_rootfs(image.id))
    data["size"] = sum(int(layer.get("size", 0)) for layer in image.layers)
    return data
