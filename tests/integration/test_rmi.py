"""`shocker rmi` and the original's `shocker rm img-xxxxx`."""

from __future__ import annotations

from tests.support.assertions import assert_one_line_error, image_rows
from tests.support.catalog import ImageSet
from tests.support.shocker import Shocker


def test_rmi_by_id_removes_the_image_and_its_root_filesystem(
    fresh_shocker: Shocker, images: ImageSet
) -> None:
    image_id = fresh_shocker("pull", images.busybox.ref).check().created_id()

    result = fresh_shocker("rmi", image_id).check()

    assert result.lines == [f"Removed: {image_id}"]
    assert image_rows(fresh_shocker("images").check()) == {}
    assert not (fresh_shocker.root / image_id).exists()


def test_rmi_by_name(fresh_shocker: Shocker, images: ImageSet) -> None:
    image_id = fresh_shocker("pull", images.layered.ref).check().created_id()

    assert fresh_shocker("rmi", images.layered.ref).check().lines == [
        f"Untagged: {images.layered.ref}",
        f"Removed: {image_id}",
    ]


def test_rm_removes_an_image_as_the_original_did(fresh_shocker: Shocker, images: ImageSet) -> None:
    image_id = fresh_shocker("pull", images.busybox.ref).check().created_id()

    assert fresh_shocker("rm", image_id).check().lines == [f"Removed: {image_id}"]
    assert fresh_shocker("images", "-q").check().out == ""


def test_removing_one_image_keeps_another_that_shares_its_layers(
    fresh_shocker: Shocker, images: ImageSet
) -> None:
    layered = fresh_shocker("pull", images.layered.ref).check().created_id()
    sibling = fresh_shocker("pull", images.layered_sibling.ref).check().created_id()

    fresh_shocker("rmi", layered).check()

    rootfs = fresh_shocker.root / sibling
    assert (rootfs / "sibling").exists()
    assert (rootfs / "data/keep").read_text() == "keep\n"
    assert list(image_rows(fresh_shocker("images").check())) == [sibling]


def test_pulling_after_rmi_creates_the_image_again(
    fresh_shocker: Shocker, images: ImageSet
) -> None:
    first = fresh_shocker("pull", images.busybox.ref).check().created_id()
    fresh_shocker("rmi", first).check()

    second = fresh_shocker("pull", images.busybox.ref).check().created_id()

    assert (fresh_shocker.root / second / "bin/busybox").exists()


def test_rmi_of_an_unknown_image_says_no_image_named(fresh_shocker: Shocker) -> None:
    assert_one_line_error(
        fresh_shocker("rmi", "nothing:here"), "No image named 'nothing:here' exists"
    )
