"""Manifests and indexes (OCI image spec; Docker schema 2 and manifest lists) and the choice
of one platform's manifest from an index."""

from __future__ import annotations

import json

from shocker.errors import RegistryError
from shocker.oci import mediatypes as mt
from shocker.oci.digest import validate_digest
from shocker.oci.platform import Platform
from shocker.record import record
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


@record(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    urls: tuple[str, ...] = ()
    platform: Platform | None = None


@record(frozen=True)
class Manifest:
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]


@record(frozen=True)
class Index:
    media_type: str
    manifests: tuple[Descriptor, ...]


def _descriptor(raw: Any, where: str) -> Descriptor:
    if not isinstance(raw, dict):
        raise RegistryError(f"invalid manifest: {where} is not an object")
    media_type = raw.get("mediaType")
    size = raw.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise RegistryError(f"invalid manifest: {where} has no mediaType")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise RegistryError(f"invalid manifest: {where} has no valid size")
    digest = raw.get("digest")
    if not isinstance(digest, str):
        raise RegistryError(f"invalid manifest: {where} has no digest")
    validate_digest(digest)
    urls = raw.get("urls") or ()
    if not isinstance(urls, list | tuple) or not all(isinstance(u, str) for u in urls):
        raise RegistryError(f"invalid manifest: {where} has invalid urls")
    platform = None
    spec = raw.get("platform")
    if isinstance(spec, dict):
        platform = Platform(
            str(spec.get("os", "")), str(spec.get("architecture", "")), spec.get("variant") or None
        )
    return Descriptor(media_type, digest, size, tuple(urls), platform)


def _media_type(doc: dict[str, Any], content_type: str | None) -> str:
    declared = doc.get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    header = (content_type or "").partition(";")[0].strip().lower()
    if header in mt.INDEX_TYPES | mt.MANIFEST_TYPES | mt.SCHEMA1_TYPES:
        return header
    # OCI manifests may omit mediaType (it became recommended only in image-spec 1.0.2).
    if doc.get("schemaVersion") == 1 or "fsLayers" in doc:
        return mt.DOCKER_SCHEMA1
    if "manifests" in doc:
        return mt.OCI_INDEX
    if "config" in doc and "layers" in doc:
        return mt.OCI_MANIFEST
    raise RegistryError(f"unsupported manifest type {header or 'unknown'!r}")


def parse_manifest(data: bytes, content_type: str | None = None) -> Manifest | Index:
    """Parse a manifest or an index; schema 1 and unknown types raise RegistryError."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RegistryError(f"invalid manifest: not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise RegistryError("invalid manifest: not a JSON object")
    media_type = _media_type(doc, content_type)
    if media_type in mt.SCHEMA1_TYPES:
        raise RegistryError(
            "this image uses Docker's schema 1 manifest format, which is deprecated and not "
            "supported: push it again with a current client"
        )
    if media_type in mt.INDEX_TYPES:
        entries = doc.get("manifests")
        if not isinstance(entries, list):
            raise RegistryError("invalid index: no manifests list")
        return Index(
            media_type, tuple(_descriptor(e, f"manifests[{i}]") for i, e in enumerate(entries))
        )
    if media_type in mt.MANIFEST_TYPES:
        layers = doc.get("layers")
        if not isinstance(layers, list):
            raise RegistryError("invalid manifest: no layers list")
        return Manifest(
            media_type,
            _descriptor(doc.get("config"), "config"),
            tuple(_descriptor(layer, f"layers[{i}]") for i, layer in enumerate(layers)),
        )
    raise RegistryError(f"unsupported manifest type {media_type!r}")


def check_image_manifest(manifest: Manifest) -> None:
    """Refuse artifacts that are not container images (Helm charts, signatures...)."""
    if manifest.config.media_type not in mt.CONFIG_TYPES:
        raise RegistryError(
            f"not a container image: its config has type {manifest.config.media_type!r}"
        )
    for layer in manifest.layers:
        if layer.media_type not in mt.LAYER_TYPES:
            raise RegistryError(f"unsupported layer type {layer.media_type!r} in {layer.digest}")


def _is_image_entry(entry: Descriptor) -> bool:
    # Attestation manifests (BuildKit) are listed as unknown/unknown; nested indexes and
    # unknown media types cannot be run either.
    p = entry.platform
    return (
        p is not None
        and p.os not in ("", "unknown")
        and p.architecture not in ("", "unknown")
        and entry.media_type in mt.MANIFEST_TYPES | mt.INDEX_TYPES
    )


def _arm_fallbacks(variant: str | None) -> list[str]:
    # An ARMv8 host in 32-bit mode runs v7, v6 and v5 code; v7 runs v6 and v5 (containerd's
    # platforms matcher does the same).
    order = ["v8", "v7", "v6", "v5"]
    return order[order.index(variant) :] if variant in order else []


def choose_platform(index: Index, wanted: Platform) -> Descriptor:
    """The entry of `index` for `wanted`; RegistryError listing what the index offers."""
    candidates = [e for e in index.manifests if _is_image_entry(e)]
    same_arch = [
        e
        for e in candidates
        if e.platform is not None
        and e.platform.os == wanted.os
        and e.platform.architecture == wanted.architecture
    ]
    variant = wanted.normalized_variant()
    preferences = _arm_fallbacks(variant) if wanted.architecture == "arm" else [variant]
    for preferred in preferences:
        for entry in same_arch:
            if entry.platform is not None and entry.platform.normalized_variant() == preferred:
                return entry
    available = sorted({str(e.platform) for e in candidates if e.platform is not None})
    offered = ", ".join(available) if available else "none"
    raise RegistryError(f"no image for platform {wanted} (available: {offered})")
