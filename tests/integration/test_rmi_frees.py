"""`rmi` frees the layers and blobs no other image uses, refuses images containers use,
and stays correct beside a concurrent pull."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.assertions import assert_one_line_error, image_rows, pulled_layers
from tests.support.catalog import ImageSet
from tests.support.shocker import Shocker


def _digests_named_in(directory: Path) -> set[str]:
    return {f"sha256:{p.name}" for p in directory.iterdir()} if directory.exists() else set()


def stored_layers(root: Path) -> set[str]:
    return _digests_named_in(root / ".shocker/layers")


def stored_blobs(root: Path) -> set[str]:
    return _digests_named_in(root / ".shocker/blobs/sha256")


def record_of(root: Path, image_id: str) -> dict[str, list[dict[str, str]]]:
    data: dict[str, list[dict[str, str]]] = json.loads(
        (root / ".shocker/images" / f"{image_id}.json").read_text()
    )
    return data


@pytest.fixture
def removed_after(fresh_shocker: Shocker) -> Iterator[list[str]]:
    """Containers a test made in the fresh root: removed (rm -f) before the root goes."""
    made: list[str] = []
    yield made
    for container_id in made:
        fresh_shocker("rm", "-f", container_id)


def test_rmi_frees_layers_and_blobs_so_the_next_pull_downloads_again(
    fresh_shocker: Shocker, images: ImageSet
) -> None:
    image_id = fresh_shocker("pull", images.layered.ref).check().created_id()
    assert stored_blobs(fresh_shocker.root) == set(images.layered.layer_digests)
    assert len(stored_layers(fresh_shocker.root)) == 3

    fresh_shocker("rmi", image_id).check()

    assert stored_layers(fresh_shocker.root) == set()
    assert stored_blobs(fresh_shocker.root) == set()
    again = fresh_shocker("pull", images.layered.ref).check()
    assert pulled_layers(again) == list(images.layered.short_layer_ids)


def test_rmi_keeps_what_another_image_shares(fresh_shocker: Shocker, images: ImageSet) -> None:
    layered = fresh_shocker("pull", images.layered.ref).check().created_id()
    sibling = fresh_shocker("pull", images.layered_sibling.ref).check().created_id()
    sibling_chains = {
        layer["chain_id"] for layer in record_of(fresh_shocker.root, sibling)["layers"]
    }

    fresh_shocker("rmi", layered).check()

    assert stored_layers(fresh_shocker.root) == sibling_chains
    assert stored_blobs(fresh_shocker.root) == set(images.layered_sibling.layer_digests)
    # The shared layers were kept: pulling `layered` again fetches its top layer only.
    again = fresh_shocker("pull", images.layered.ref).check()
    assert pulled_layers(again) == [images.layered.short_layer_ids[-1]]
    assert (fresh_shocker.root / again.created_id() / "opaque/new").read_text() == "new\n"


def test_rmi_of_an_image_a_stopped_container_uses_needs_force(
    fresh_shocker: Shocker, images: ImageSet, removed_after: list[str]
) -> None:
    image_id = fresh_shocker("pull", images.busybox.ref).check().created_id()
    fresh_shocker("run", image_id, "true").check()
    container_id = fresh_shocker("ps", "-q").check().lines[0]
    removed_after.append(container_id)

    refused = fresh_shocker("rmi", image_id)

    assert_one_line_error(refused, "must be forced", container_id, image_id)
    assert list(image_rows(fresh_shocker("images").check())) == [image_id]
    assert stored_blobs(fresh_shocker.root) == set(images.busybox.layer_digests)

    assert fresh_shocker("rmi", "-f", image_id).check().lines == [f"Removed: {image_id}"]
    assert image_rows(fresh_shocker("images").check()) == {}
    assert stored_blobs(fresh_shocker.root) == set()
    # The container keeps its own filesystem and still runs.
    assert fresh_shocker("start", "-a", container_id).rc == 0


def test_rmi_of_an_image_a_running_container_uses_is_refused_even_forced(
    fresh_shocker: Shocker, images: ImageSet, removed_after: list[str]
) -> None:
    image_id = fresh_shocker("pull", images.busybox.ref).check().created_id()
    container_id = fresh_shocker("run", "-d", image_id, "sleep", "60").check().lines[-1]
    removed_after.append(container_id)

    for argv in (("rmi", image_id), ("rmi", "-f", image_id), ("rm", image_id)):
        assert_one_line_error(fresh_shocker(*argv), "running container", container_id)

    assert list(image_rows(fresh_shocker("images").check())) == [image_id]
    assert (fresh_shocker.root / image_id / "bin/busybox").exists()


def test_rmi_beside_concurrent_pulls_of_images_sharing_layers(
    fresh_shocker: Shocker, images: ImageSet
) -> None:
    """Whatever order they run in, every image left listed has all its layers and blobs."""
    for _ in range(4):
        layered = fresh_shocker("pull", images.layered.ref).check().created_id()
        with ThreadPoolExecutor(max_workers=2) as pool:
            removal = pool.submit(fresh_shocker, "rmi", layered)
            pulled = pool.submit(fresh_shocker, "pull", images.layered_sibling.ref)
            removal.result().check()
            pulled.result().check()
        listed = list(image_rows(fresh_shocker("images").check()))
        assert layered not in listed
        for image_id in listed:
            record = record_of(fresh_shocker.root, image_id)
            assert {layer["chain_id"] for layer in record["layers"]} <= stored_layers(
                fresh_shocker.root
            )
            assert {layer["digest"] for layer in record["layers"]} <= stored_blobs(
                fresh_shocker.root
            )
        for image_id in listed:
            fresh_shocker("rmi", image_id).check()
        assert stored_layers(fresh_shocker.root) == set()


def test_rmi_of_the_last_name_of_an_image_a_container_uses_needs_force(
    fresh_shocker: Shocker, images: ImageSet, removed_after: list[str]
) -> None:
    image_id = fresh_shocker("pull", images.busybox.ref).check().created_id()
    fresh_shocker("run", image_id, "true").check()
    removed_after.append(fresh_shocker("ps", "-q").check().lines[0])

    assert_one_line_error(fresh_shocker("rmi", "busybox"), "must be forced", image_id)
    assert list(image_rows(fresh_shocker("images").check())) == [image_id]

    forced = fresh_shocker("rmi", "-f", "busybox").check()
    assert forced.lines == ["Untagged: busybox:latest", f"Removed: {image_id}"]
    assert stored_blobs(fresh_shocker.root) == set()
