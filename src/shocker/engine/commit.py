"""commit: snapshot a container's filesystem into an image (O(1) on btrfs)."""

from __future__ import annotations

import copy
import json

from shocker.errors import NotFound, UsageError
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

    from shocker.store.images import ImageRecord
    from shocker.store.store import Store


def commit(
    store: Store, container: str, target: str, changes: list[str]
) -> tuple[ImageRecord, bool]:
    """Returns the image and whether an existing image was replaced in place."""
    record = store.containers.resolve(container)
    rootfs = store.layout.container_rootfs(record.id)
    try:
        base = store.images.get(record.image_id).config
    except NotFound:
        from shocker.oci.image_config import empty_config

        base = empty_config()
    config = apply_changes(base, changes)
    if target.startswith("img-"):
        try:
            existing = store.images.get(target)
        except NotFound:
            existing = None
        if existing is not None:
            store.images.replace_rootfs(existing.id, rootfs, config)
            return store.images.get(existing.id), True
    from shocker.oci.reference import parse_reference

    name = parse_reference(target).familiar()
    image = store.images.add(
        rootfs_from=rootfs,
        reference=name,
        repository_digest=None,
        config=config,
        layers=[],
        source="commit",
    )
    return image, False


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
