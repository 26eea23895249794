"""The manifest a push writes for one image: Docker schema 2 when every layer has a Docker
media type (what was pulled that way stays that way), else OCI, Docker's gzip layers named
by their OCI type (the same bytes)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from shocker.oci import mediatypes as mt
from shocker.oci.manifest import Descriptor

_DOCKER_LAYERS = frozenset({mt.DOCKER_LAYER, "application/vnd.docker.image.rootfs.diff.tar"})
_AS_OCI = {
    mt.DOCKER_LAYER: mt.OCI_LAYER_GZIP,
    "application/vnd.docker.image.rootfs.diff.tar": mt.OCI_LAYER,
}


def config_bytes(config: dict[str, object]) -> bytes:
    """The config blob: compact JSON, keys in the order the config has them."""
    return json.dumps(config, separators=(",", ":"), ensure_ascii=False).encode()


def image_manifest(config: Descriptor, layers: Sequence[Descriptor]) -> tuple[bytes, str]:
    """The manifest's bytes (what its digest is of) and media type.

    `config.media_type` is ignored: the config's type follows the manifest's.
    """
    docker = bool(layers) and all(layer.media_type in _DOCKER_LAYERS for layer in layers)
    if docker:
        media_type, config_type = mt.DOCKER_MANIFEST, mt.DOCKER_CONFIG
    else:
        media_type, config_type = mt.OCI_MANIFEST, mt.OCI_CONFIG
    doc = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": config_type, "digest": config.digest, "size": config.size},
        "layers": [
            {
                "mediaType": layer.media_type
                if docker
                else _AS_OCI.get(layer.media_type, layer.media_type),
                "digest": layer.digest,
                "size": layer.size,
            }
            for layer in layers
        ],
    }
    return json.dumps(doc, indent=3).encode(), media_type
