"""`history`: an image's steps from its config's history, newest first, each with the layer
it made (Docker pairs the history entries that are not `empty_layer` with the layers in order).
"""

from __future__ import annotations

from shocker.record import record
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

    from shocker.store.images import ImageRecord


@record(frozen=True)
class Step:
    created: str | None  # RFC 3339, as the config says
    created_by: str
    size: int  # bytes of the step's layer blob; 0 for a step that made none
    comment: str
    layer: str | None  # the layer's digest (None: none, or a commit's layer not made yet)


def history(image: ImageRecord) -> list[Step]:
    """At least one step per layer (a layer the history does not describe gets a bare
    step), newest first; an image without layers or history is one step: its creation."""
    entries = image.config.get("history")
    entries = [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    layers = list(image.layers)
    steps: list[Step] = []
    for entry in entries:
        layer = None if entry.get("empty_layer") else (layers.pop(0) if layers else None)
        steps.append(
            Step(
                created=str(entry["created"]) if entry.get("created") else None,
                created_by=str(entry.get("created_by") or ""),
                size=int(layer.get("size", 0)) if layer else 0,
                comment=str(entry.get("comment") or ""),
                layer=_digest(layer) if layer else None,
            )
        )
    for layer in layers:  # more layers than history says
        steps.append(Step(None, "", int(layer.get("size", 0)), "", _digest(layer)))
    if not steps:
        steps.append(Step(image.created, f"shocker {image.source}", 0, "", None))
    return steps[::-1]


def _digest(layer: dict[str, Any]) -> str | None:
    digest = layer.get("digest")
    return str(digest) if digest else None
