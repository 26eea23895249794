"""The documents of image archives, parsed and written: a docker-archive's `manifest.json` and
`repositories` (what `docker save` and `podman save` write) and an OCI image layout's
`index.json` and `oci-layout` (OCI image spec, image-layout.md). Pure data, no I/O."""

from __future__ import annotations

import json

from shocker.errors import ShockerError
from shocker.oci import mediatypes as mt
from shocker.record import record
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

DOCKER_MANIFEST = "manifest.json"
REPOSITORIES = "repositories"
OCI_LAYOUT = "oci-layout"
OCI_INDEX = "index.json"
OCI_LAYOUT_VERSION = "1.0.0"
# The tag (or, as podman and skopeo write it, the whole name) of an index entry.
REF_NAME = "org.opencontainers.image.ref.name"
# containerd's (and Docker's) whole name of an index entry, beside a tag-only REF_NAME.
CONTAINERD_NAME = "io.containerd.image.name"


class ArchiveError(ShockerError):
    """The archive is invalid, truncated, hostile or not one shocker reads: says what."""


@record(frozen=True)
class DockerArchiveImage:
    """One entry of a docker-archive's manifest.json: paths inside the archive."""

    config: str
    layers: tuple[str, ...]
    repo_tags: tuple[str, ...]


@record(frozen=True)
class IndexEntry:
    """One manifest (or nested index) an OCI layout's index.json lists, with its names."""

    media_type: str
    digest: str
    size: int
    names: tuple[str, ...]
    platform: tuple[str, str] | None  # (os, architecture) when the entry says


def _json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise ArchiveError(f"archive's {what} is not valid JSON ({error})") from None


def parse_docker_manifest(data: bytes) -> list[DockerArchiveImage]:
    """The images of a docker-archive's manifest.json; ArchiveError when malformed."""
    doc = _json(data, DOCKER_MANIFEST)
    if not isinstance(doc, list) or not doc:
        raise ArchiveError(f"archive's {DOCKER_MANIFEST} lists no image")
    images = []
    for position, entry in enumerate(doc):
        where = f"{DOCKER_MANIFEST} entry {position}"
        if not isinstance(entry, dict):
            raise ArchiveError(f"archive's {where} is not an object")
        config = entry.get("Config")
        layers = entry.get("Layers")
        tags = entry.get("RepoTags") or []
        if not isinstance(config, str) or not config:
            raise ArchiveError(f"archive's {where} has no Config")
        if not isinstance(layers, list) or not all(isinstance(x, str) and x for x in layers):
            raise ArchiveError(f"archive's {where} has no valid Layers list")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ArchiveError(f"archive's {where} has invalid RepoTags")
        images.append(DockerArchiveImage(config, tuple(layers), tuple(tags)))
    return images


def _names(annotations: dict[str, Any]) -> tuple[str, ...]:
    """The image name an index entry carries: containerd's full name, else a ref.name that
    is a whole name (podman, skopeo); a bare tag names no repository, so no image name."""
    full = annotations.get(CONTAINERD_NAME)
    if isinstance(full, str) and full:
        return (full,)
    ref = annotations.get(REF_NAME)
    if isinstance(ref, str) and ("/" in ref or ":" in ref):
        return (ref,)
    return ()


def parse_index(data: bytes, what: str = OCI_INDEX) -> list[IndexEntry]:
    """The entries of an OCI index (index.json or a nested index blob)."""
    doc = _json(data, what)
    if not isinstance(doc, dict) or not isinstance(doc.get("manifests"), list):
        raise ArchiveError(f"archive's {what} has no manifests list")
    entries = []
    for position, raw in enumerate(doc["manifests"]):
        where = f"{what} entry {position}"
        if not isinstance(raw, dict):
            raise ArchiveError(f"archive's {where} is not an object")
        media_type, digest, size = raw.get("mediaType"), raw.get("digest"), raw.get("size")
        if not isinstance(media_type, str) or not isinstance(digest, str):
            raise ArchiveError(f"archive's {where} has no mediaType or digest")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ArchiveError(f"archive's {where} has no valid size")
        annotations = raw.get("annotations") or {}
        platform = raw.get("platform")
        entries.append(
            IndexEntry(
                media_type=media_type,
                digest=digest,
                size=size,
                names=_names(annotations if isinstance(annotations, dict) else {}),
                platform=(str(platform.get("os", "")), str(platform.get("architecture", "")))
                if isinstance(platform, dict)
                else None,
            )
        )
    return entries


def blob_path(digest: str) -> str:
    """Where an OCI layout keeps a blob: `blobs/<algorithm>/<hex>`."""
    algorithm, _, hexpart = digest.partition(":")
    return f"blobs/{algorithm}/{hexpart}"


def dump(doc: Any) -> bytes:
    """Compact JSON, as registries and the other engines write it."""
    return json.dumps(doc, separators=(",", ":")).encode()


def docker_manifest(images: Sequence[DockerArchiveImage]) -> bytes:
    return dump(
        [
            {"Config": i.config, "RepoTags": list(i.repo_tags), "Layers": list(i.layers)}
            for i in images
        ]
    )


def split_tag(name: str) -> tuple[str, str] | None:
    """`repo:tag` as (repo, tag); None for a name without a tag or with a digest."""
    if "@" in name:
        return None
    repository, sep, tag = name.rpartition(":")
    if not sep or "/" in tag:
        return None
    return repository, tag


def repositories(entries: Sequence[tuple[str, str]]) -> bytes:
    """The legacy `repositories` file: repository -> tag -> the image's top layer id, for
    each (name, top layer id); Docker and podman still write it and old loaders read it."""
    doc: dict[str, dict[str, str]] = {}
    for name, top in entries:
        parts = split_tag(name)
        if parts is not None:
            doc.setdefault(parts[0], {})[parts[1]] = top
    return dump(doc)


def oci_layout() -> bytes:
    return dump({"imageLayoutVersion": OCI_LAYOUT_VERSION})


def oci_manifest(
    config_digest: str, config_size: int, layers: Sequence[tuple[str, str, int]]
) -> bytes:
    """An OCI image manifest of a config and (media type, digest, size) layers."""
    return dump(
        {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "config": {"mediaType": mt.OCI_CONFIG, "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": t, "digest": d, "size": s} for t, d, s in layers],
        }
    )


def oci_index(entries: Sequence[tuple[str, int, str | None]]) -> bytes:
    """index.json of (manifest digest, size, name or None) entries: a named entry carries the
    whole name as ref.name (as podman and skopeo write it) and as containerd's name."""
    manifests = []
    for digest, size, name in entries:
        entry: dict[str, Any] = {"mediaType": mt.OCI_MANIFEST, "digest": digest, "size": size}
        if name:
            entry["annotations"] = {REF_NAME: name, CONTAINERD_NAME: name}
        manifests.append(entry)
    return dump({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": manifests})


def oci_layer_type(media_type: str, compressed: str) -> str:
    """The OCI media type of a layer blob (Docker's names mapped; `compressed` is "gzip",
    "zstd" or "" as sniffed from the blob)."""
    if media_type.startswith("application/vnd.oci.image.layer."):
        return media_type
    return {"gzip": mt.OCI_LAYER_GZIP, "zstd": mt.OCI_LAYER_ZSTD}.get(compressed, mt.OCI_LAYER)
