"""commit: snapshot a container's filesystem into an image (O(1) on btrfs)."""

from __future__ import annotations

import copy
import json

from shocker.errors import NotFound, UsageError
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from shocker.store.images import ImageRecord
    from shocker.store.store import Store


def commit(
    store: Store,
    container: str,
    target: str,
    changes: list[str],
    epoch: int | None = None,
) -> tuple[ImageRecord, bool]:
    """Returns the image and whether an existing image was replaced in place.

    A new image holds its base image's layers plus one layer of the container's changes
    (deletions as whiteouts); `epoch` is SOURCE_DATE_EPOCH for reproducible timestamps.
    Replacing an image in place (`commit CONTAINER img-ID`) keeps the original's behaviour:
    the image becomes a snapshot of the container, without layers.
    """
    record = store.containers.resolve(container)
    rootfs = store.layout.container_rootfs(record.id)
    try:
        base: ImageRecord | None = store.images.get(record.image_id)
    except NotFound:
        base = None
    if base is not None:
        base_config = base.config
    else:
        from shocker.oci.image_config import empty_config

        base_config = empty_config()
    config = apply_changes(base_config, changes)
    if target.startswith("img-"):
        try:
            existing = store.images.get(target)
        except NotFound:
            existing = None
        if existing is not None:
            store.images.replace_rootfs(existing.id, rootfs, config)
            return store.images.get(existing.id), True
    from shocker.oci.reference import parse_reference
    from shocker.store.gc import creating

    name = parse_reference(target).familiar()
    with creating(store.layout):  # no sweep between the new layer and the record naming it
        layers, config = snapshot_layer(store, base, rootfs, config, "shocker commit", epoch)
        image = store.images.add(
            rootfs_from=store.layers.path(str(layers[-1]["chain_id"])),
            reference=name,
            repository_digest=None,
            config=config,
            layers=layers,
            source="commit",
        )
    return image, False


def snapshot_layer(
    store: Store,
    base: ImageRecord | None,
    rootfs: Path,
    config: dict[str, Any],
    created_by: str,
    epoch: int | None,
    skipped: frozenset[str] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The layer records and config of `base` plus one diff layer from `rootfs` (a live
    filesystem: snapshotted first, so the layer is one consistent moment). `skipped`: paths
    left out, by default the mount points the runtime provides in a container."""
    from shocker.oci.image_config import epoch_time, with_history
    from shocker.store import btrfs
    from shocker.store.layerdiff import PROVIDED, create_layer
    from shocker.store.layers import scratch_path
    from shocker.store.records import now

    below, parent = base_layers(store, base)
    if not below:
        # No layer records (an `init` image, or one replaced in place): its history no
        # longer describes layers; the new layer holds the whole filesystem.
        history = [h for h in config.get("history") or [] if h.get("empty_layer")]
        config = {**config, "history": history}
    scratch = scratch_path(store.layout, "commit")
    btrfs.snapshot(rootfs, scratch, readonly=True)
    try:
        layer = create_layer(
            store,
            parent,
            str(below[-1]["chain_id"]) if below else None,
            scratch,
            epoch,
            skipped=PROVIDED if skipped is None else skipped,
        )
    finally:
        btrfs.delete_subvolume(scratch)
    diff_ids = [str(entry["diff_id"]) for entry in below] + [layer.diff_id]
    created = epoch_time(epoch) if epoch is not None else now()
    return [*below, layer.as_record()], with_history(config, created, created_by, diff_ids)


def base_layers(store: Store, base: ImageRecord | None) -> tuple[list[dict[str, Any]], Path | None]:
    """The base image's layer records and the filesystem its diff is taken against.

    That is the top layer's subvolume (read-only, exactly its layers), else the image's own
    root filesystem; without layer records there is nothing below (empty list, None).
    """
    if base is None or not base.layers:
        return [], None
    top = store.layers.path(str(base.layers[-1]["chain_id"]))
    if top.exists():
        return list(base.layers), top
    return list(base.layers), store.layout.image_rootfs(base.id)


def apply_changes(base: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    """Dockerfile-style `--change` lines over an image config (a copy)."""
    config = copy.deepcopy(base)
    section: dict[str, Any] = config.setdefault("config", {})
    for change in changes:
        keyword, _, value = change.strip().partition(" ")
        keyword, value = keyword.upper(), value.strip()
        if keyword in ("CMD", "ENTRYPOINT"):
            section["Cmd" if keyword == "CMD" else "Entrypoint"] = _command(value)
        elif keyword == "ENV":
            key, sep, val = value.partition("=")
            if not sep:
                key, _, val = value.partition(" ")
            env = [e for e in section.get("Env") or [] if e.partition("=")[0] != key]
            section["Env"] = [*env, f"{key}={val.strip()}"]
        elif keyword == "WORKDIR":
            section["WorkingDir"] = value
        elif keyword == "USER":
            section["User"] = value
        elif keyword == "EXPOSE":
            port = value if "/" in value else f"{value}/tcp"
            section.setdefault("ExposedPorts", {})[port] = {}
        else:
            raise UsageError(f"unsupported --change '{change}'")
    return config


def _command(value: str) -> list[str]:
    if value.startswith("["):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            raise UsageError(f"invalid JSON command: {value}") from None
        if not isinstance(parsed, list) or not all(isinstance(p, str) for p in parsed):
            raise UsageError(f"invalid JSON command: {value}")
        return parsed
    return ["/bin/sh", "-c", value]
