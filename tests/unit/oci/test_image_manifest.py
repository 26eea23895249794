"""The manifest a push writes: Docker schema 2 for Docker layers, else OCI."""

from __future__ import annotations

import json

from shocker.oci import mediatypes as mt
from shocker.oci.image_manifest import config_bytes, image_manifest
from shocker.oci.manifest import Descriptor, parse_manifest

CONFIG = Descriptor("", "sha256:" + "c" * 64, 123)


def layer(media_type: str, char: str) -> Descriptor:
    return Descriptor(media_type, "sha256:" + char * 64, 10)


def test_docker_layers_stay_in_a_docker_manifest() -> None:
    data, media_type = image_manifest(CONFIG, [layer(mt.DOCKER_LAYER, "a")])

    doc = json.loads(data)
    assert media_type == doc["mediaType"] == mt.DOCKER_MANIFEST
    assert doc["config"] == {"mediaType": mt.DOCKER_CONFIG, "digest": CONFIG.digest, "size": 123}
    assert [entry["mediaType"] for entry in doc["layers"]] == [mt.DOCKER_LAYER]


def test_a_mix_becomes_oci_with_dockers_gzip_layers_named_as_oci() -> None:
    layers = [
        layer(mt.DOCKER_LAYER, "a"),
        layer(mt.OCI_LAYER_GZIP, "b"),
        layer(mt.OCI_LAYER_ZSTD, "d"),
    ]

    data, media_type = image_manifest(CONFIG, layers)

    parsed = parse_manifest(data, media_type)
    assert media_type == mt.OCI_MANIFEST
    assert [d.media_type for d in parsed.layers] == [  # type: ignore[union-attr]
        mt.OCI_LAYER_GZIP,
        mt.OCI_LAYER_GZIP,
        mt.OCI_LAYER_ZSTD,
    ]
    assert [d.digest for d in parsed.layers] == [d.digest for d in layers]  # type: ignore[union-attr]
    assert parsed.config.media_type == mt.OCI_CONFIG  # type: ignore[union-attr]


def test_the_config_blob_is_compact_json_in_the_configs_order() -> None:
    assert config_bytes({"b": 1, "a": [1, "é"]}) == '{"b":1,"a":[1,"é"]}'.encode()
