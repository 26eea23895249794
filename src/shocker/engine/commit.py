"""commit: snapshot a container's filesystem into an image (O(1) on btrfs: its diff layer
is recorded as pending and made on first need, store/pending.py)."""

from __future__ import annotations

import copy
import json

from shocker.errors import NotFound, StorageError, UsageError
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
    base = _image_or_none(store, record.image_id)
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
        if base is not None:
            # Read again under the lock: a pending layer it names is kept from here on.
            base = _image_or_none(store, base.id)
        layers, config, top = record_layer(store, base, rootfs, config, "shocker commit", epoch)
        image = store.images.add(
            rootfs_from=top,
            reference=name,
            repository_digest=None,
            config=config,
            layers=layers,
            source="commit",
        )
    return image, False


def _image_or_none(store: Store, image_id: str) -> ImageRecord | None:
    try:
        return store.images.get(image_id)
    except NotFound:
        return None


def record_layer(
    store: Store,
    base: ImageRecord | None,
    rootfs: Path,
    config: dict[str, Any],
    created_by: str,
    epoch: int | None,
) -> tuple[list[dict[str, Any]], dict[str, Any], Path]:
    """The layer records and config of `base` plus a pending layer of `rootfs` (made on
    first need, store/pending.py), and the read-only snapshot of `rootfs` that holds it.

    Commit is a snapshot, as on the original: the tar, its hashes and the gzip blob wait for
    a push, save or build that needs them (engine/layered.py `made`). Only when the base's
    filesystem is no layer subvolume (a record from before layer subvolumes were kept) is
    the layer made here, against the base's own root filesystem, which may change later.
    """
    from shocker.oci.image_config import epoch_time, with_history
    from shocker.oci.mediatypes import OCI_LAYER_GZIP
    from shocker.store import btrfs
    from shocker.store.pending import (
        PENDING_PREFIX,
        layer_id,
        made_diff_ids,
        new_pending_key,
        pending_entry,
    )
    from shocker.store.records import now

    below, parent = base_layers(store, base)
    if below and parent != store.layout.layer(layer_id(below[-1])):
        layers, config = snapshot_layer(store, base, rootfs, config, created_by, epoch)
        return layers, config, store.layers.path(str(layers[-1]["chain_id"]))
    if not below:
        config = _without_layer_history(config)
    key = new_pending_key()
    snapshot = store.layout.layer(PENDING_PREFIX + key)
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    btrfs.snapshot(rootfs, snapshot, readonly=True)
    layers = [*below, pending_entry(key, OCI_LAYER_GZIP, epoch)]
    created = epoch_time(epoch) if epoch is not None else now()
    return layers, with_history(config, created, created_by, made_diff_ids(layers)), snapshot


def _without_layer_history(config: dict[str, Any]) -> dict[str, Any]:
    """No layer records below (an `init` image, or one replaced in place): its history no
    longer describes layers; the new layer holds the whole filesystem."""
    history = [h for h in config.get("history") or [] if h.get("empty_layer")]
    return {**config, "history": history}


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
    from shocker.store.pending import is_pending
    from shocker.store.records import now

    below, parent = base_layers(store, base)
    if any(is_pending(entry) for entry in below):
        raise StorageError("a layer goes over made layers only: make the pending ones first")
    if not below:
        config = _without_layer_history(config)
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

    That is the top layer's subvolume (read-only, exactly its layers; a pending layer's
    snapshot), else the image's own
    root filesystem; without layer records there is nothing below (empty list, None).
    """
    from shocker.store.pending import layer_id

    if base is None or not base.layers:
        return [], None
    top = store.layout.layer(layer_id(base.layers[-1]))
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
