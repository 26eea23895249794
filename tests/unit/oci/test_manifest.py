from __future__ import annotations

import json
from typing import Any

import pytest

from shocker.errors import RegistryError
from shocker.oci import mediatypes as mt
from shocker.oci.manifest import (
    Descriptor,
    Index,
    Manifest,
    check_image_manifest,
    choose_platform,
    parse_manifest,
)
from shocker.oci.platform import Platform


def d(n: int) -> str:
    return f"sha256:{n:064x}"


def docker_v2() -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "mediaType": mt.DOCKER_MANIFEST,
        "config": {"mediaType": mt.DOCKER_CONFIG, "size": 1469, "digest": d(1)},
        "layers": [
            {"mediaType": mt.DOCKER_LAYER, "size": 2_000_000, "digest": d(2)},
            {"mediaType": mt.DOCKER_LAYER, "size": 300, "digest": d(3)},
        ],
    }


def entry(n: int, os: str, arch: str, variant: str | None = None) -> dict[str, Any]:
    platform: dict[str, str] = {"os": os, "architecture": arch}
    if variant:
        platform["variant"] = variant
    return {"mediaType": mt.OCI_MANIFEST, "size": 500 + n, "digest": d(n), "platform": platform}


def oci_index(*entries: dict[str, Any]) -> Index:
    doc = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": list(entries)}
    parsed = parse_manifest(json.dumps(doc).encode(), mt.OCI_INDEX)
    assert isinstance(parsed, Index)
    return parsed


def test_a_docker_v2_manifest_parses_config_and_layers_apart() -> None:
    parsed = parse_manifest(json.dumps(docker_v2()).encode(), mt.DOCKER_MANIFEST)
    assert isinstance(parsed, Manifest)
    assert parsed.media_type == mt.DOCKER_MANIFEST
    assert parsed.config == Descriptor(mt.DOCKER_CONFIG, d(1), 1469)
    assert [layer.digest for layer in parsed.layers] == [d(2), d(3)]
    assert d(1) not in [layer.digest for layer in parsed.layers]


def test_an_oci_manifest_without_media_type_is_recognised_by_its_header() -> None:
    doc = {
        "schemaVersion": 2,
        "config": {"mediaType": mt.OCI_CONFIG, "size": 10, "digest": d(1)},
        "layers": [{"mediaType": mt.OCI_LAYER_ZSTD, "size": 5, "digest": d(2), "urls": ["u"]}],
    }
    parsed = parse_manifest(json.dumps(doc).encode(), f"{mt.OCI_MANIFEST}; charset=utf-8")
    assert isinstance(parsed, Manifest)
    assert parsed.media_type == mt.OCI_MANIFEST
    assert parsed.layers[0].urls == ("u",)


def test_a_manifest_is_recognised_by_its_shape_when_nothing_names_its_type() -> None:
    doc = docker_v2()
    del doc["mediaType"]
    parsed = parse_manifest(json.dumps(doc).encode(), "application/json")
    assert isinstance(parsed, Manifest)
    assert parsed.media_type == mt.OCI_MANIFEST


def test_a_docker_manifest_list_parses_platforms() -> None:
    doc = {
        "schemaVersion": 2,
        "mediaType": mt.DOCKER_MANIFEST_LIST,
        "manifests": [
            {**entry(1, "linux", "amd64"), "mediaType": mt.DOCKER_MANIFEST},
            {**entry(2, "linux", "arm", "v7"), "mediaType": mt.DOCKER_MANIFEST},
        ],
    }
    parsed = parse_manifest(json.dumps(doc).encode(), None)
    assert isinstance(parsed, Index)
    assert [e.platform for e in parsed.manifests] == [
        Platform("linux", "amd64"),
        Platform("linux", "arm", "v7"),
    ]


@pytest.mark.parametrize("content_type", [mt.DOCKER_SCHEMA1_SIGNED, mt.DOCKER_SCHEMA1, None])
def test_schema1_manifests_are_refused_with_a_clear_message(content_type: str | None) -> None:
    doc = {"schemaVersion": 1, "name": "x", "tag": "y", "fsLayers": [], "history": []}
    with pytest.raises(RegistryError, match="schema 1"):
        parse_manifest(json.dumps(doc).encode(), content_type)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps({"mediaType": mt.OCI_MANIFEST, "layers": []}).encode(),
        json.dumps(
            {**docker_v2(), "layers": [{"mediaType": "x", "size": -1, "digest": d(2)}]}
        ).encode(),
        json.dumps(
            {**docker_v2(), "layers": [{"mediaType": "x", "size": 1, "digest": "bad"}]}
        ).encode(),
        json.dumps({"mediaType": "application/vnd.example+json"}).encode(),
        json.dumps({"mediaType": mt.OCI_INDEX, "manifests": {}}).encode(),
    ],
)
def test_malformed_manifests_are_registry_errors(body: bytes) -> None:
    with pytest.raises(RegistryError):
        parse_manifest(body, None)


def test_artifacts_that_are_not_images_are_refused() -> None:
    doc = docker_v2()
    doc["config"]["mediaType"] = "application/vnd.cncf.helm.config.v1+json"
    parsed = parse_manifest(json.dumps(doc).encode(), None)
    assert isinstance(parsed, Manifest)
    with pytest.raises(RegistryError, match="not a container image"):
        check_image_manifest(parsed)


def test_images_with_known_layer_types_pass_the_check() -> None:
    parsed = parse_manifest(json.dumps(docker_v2()).encode(), None)
    assert isinstance(parsed, Manifest)
    check_image_manifest(parsed)


def test_the_host_platform_entry_is_chosen_and_attestations_skipped() -> None:
    index = oci_index(
        entry(1, "unknown", "unknown"),
        entry(2, "linux", "arm64", "v8"),
        entry(3, "linux", "amd64"),
        entry(4, "unknown", "unknown"),
    )
    assert choose_platform(index, Platform("linux", "amd64")).digest == d(3)
    assert choose_platform(index, Platform("linux", "arm64")).digest == d(2)


def test_an_index_of_only_attestations_has_nothing_to_offer() -> None:
    index = oci_index(entry(1, "unknown", "unknown"))
    with pytest.raises(RegistryError, match=r"available: none"):
        choose_platform(index, Platform("linux", "amd64"))


def test_no_matching_platform_names_the_available_ones() -> None:
    index = oci_index(
        entry(1, "linux", "ppc64le"), entry(2, "linux", "s390x"), entry(3, "unknown", "unknown")
    )
    with pytest.raises(RegistryError) as caught:
        choose_platform(index, Platform("linux", "amd64"))
    assert caught.value.message == (
        "no image for platform linux/amd64 (available: linux/ppc64le, linux/s390x)"
    )


def test_arm_variants_fall_back_to_older_ones_but_never_newer() -> None:
    index = oci_index(entry(1, "linux", "arm", "v6"), entry(2, "linux", "arm", "v8"))
    assert choose_platform(index, Platform("linux", "arm", "v7")).digest == d(1)
    assert choose_platform(index, Platform("linux", "arm", "v8")).digest == d(2)
    with pytest.raises(RegistryError, match="linux/arm/v6, linux/arm/v8"):
        choose_platform(index, Platform("linux", "arm", "v5"))


def test_an_exact_arm_variant_is_preferred_over_a_fallback() -> None:
    index = oci_index(entry(1, "linux", "arm", "v6"), entry(2, "linux", "arm"))
    assert choose_platform(index, Platform("linux", "arm", "v7")).digest == d(2)


def test_the_os_must_match_too() -> None:
    index = oci_index(entry(1, "windows", "amd64"))
    with pytest.raises(RegistryError, match="windows/amd64"):
        choose_platform(index, Platform("linux", "amd64"))
