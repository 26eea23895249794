"""Archive documents: docker-archive manifest.json and repositories, OCI index.json names."""

from __future__ import annotations

import json

import pytest

from shocker.oci.archive import (
    ArchiveError,
    DockerArchiveImage,
    docker_manifest,
    oci_index,
    parse_docker_manifest,
    parse_index,
    repositories,
)

DIGEST = "sha256:" + "a" * 64


def test_docker_manifest_round_trips_several_images() -> None:
    images = [
        DockerArchiveImage("c1.json", ("l1.tar", "l2.tar"), ("busybox:latest", "bb:1")),
        DockerArchiveImage("c2.json", ("l1.tar",), ()),
    ]

    assert parse_docker_manifest(docker_manifest(images)) == images


def test_podman_manifest_with_null_repo_tags_has_no_names() -> None:
    data = json.dumps([{"Config": "c.json", "RepoTags": None, "Layers": ["a/layer.tar"]}])

    assert parse_docker_manifest(data.encode())[0].repo_tags == ()


@pytest.mark.parametrize(
    "document",
    [b"not json", b"[]", b"{}", b'[{"Layers": []}]', b'[{"Config": "c", "Layers": [1]}]'],
)
def test_malformed_docker_manifests_are_refused(document: bytes) -> None:
    with pytest.raises(ArchiveError):
        parse_docker_manifest(document)


def test_index_names_come_from_whole_names_not_bare_tags() -> None:
    def entry(annotations: dict[str, str]) -> dict[str, object]:
        return {"mediaType": "m", "digest": DIGEST, "size": 1, "annotations": annotations}

    doc = {
        "manifests": [
            entry({"org.opencontainers.image.ref.name": "localhost/probe:1"}),
            entry({"org.opencontainers.image.ref.name": "latest"}),
            entry(
                {
                    "org.opencontainers.image.ref.name": "1.36",
                    "io.containerd.image.name": "docker.io/library/busybox:1.36",
                }
            ),
        ]
    }

    names = [e.names for e in parse_index(json.dumps(doc).encode())]

    assert names == [("localhost/probe:1",), (), ("docker.io/library/busybox:1.36",)]


def test_written_index_names_each_entry_for_both_readers() -> None:
    [named, unnamed] = json.loads(oci_index([(DIGEST, 10, "app:1"), (DIGEST, 10, None)]))[
        "manifests"
    ]

    assert named["annotations"] == {
        "org.opencontainers.image.ref.name": "app:1",
        "io.containerd.image.name": "app:1",
    }
    assert "annotations" not in unnamed


def test_repositories_maps_each_tagged_name_to_the_top_layer() -> None:
    doc = json.loads(
        repositories([("127.0.0.1:5000/team/app:1", "t1"), ("app@sha256:" + "b" * 64, "t2")])
    )

    assert doc == {"127.0.0.1:5000/team/app": {"1": "t1"}}
