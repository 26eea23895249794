"""`shocker tag`, `images` with one row per name, and `rmi NAME` taking one name at a time."""

from __future__ import annotations

from tests.support.assertions import assert_one_line_error
from tests.support.catalog import ImageSet
from tests.support.shocker import Result, Shocker


def name_rows(result: Result) -> list[tuple[str, str]]:
    """`shocker images` -> [(id, SOURCE)] in order, one per row."""
    lines = [line for line in result.lines if line.strip()]
    assert lines[0].split()[:2] == ["IMAGE_ID", "SOURCE"], str(result)
    return [(line.split()[0], line.split()[1]) for line in lines[1:]]


def test_tag_adds_a_name_listed_as_typed(fresh_shocker: Shocker, images: ImageSet) -> None:
    image_id = fresh_shocker("pull", images.busybox.ref).check().created_id()

    assert fresh_shocker("tag", image_id, "127.0.0.1:5000/team/app:1").check().out == ""
    fresh_shocker("tag", "busybox", "mine").check()

    rows = name_rows(fresh_shocker("images").check())
    assert sorted(rows) == sorted(
        [
            (image_id, "busybox:latest"),
            (image_id, "127.0.0.1:5000/team/app:1"),
            (image_id, "mine:latest"),
        ]
    )
    assert fresh_shocker("images", "-q").check().lines == [image_id]
    ran = fresh_shocker("run", "--rm", "127.0.0.1:5000/team/app:1", "echo", "tagged").check()
    assert ran.out.strip() == "tagged"


def test_a_name_held_by_another_image_moves(fresh_shocker: Shocker, images: ImageSet) -> None:
    first = fresh_shocker("pull", images.busybox.ref).check().created_id()
    second = fresh_shocker("pull", images.layered.ref).check().created_id()
    fresh_shocker("tag", first, "app:1").check()

    fresh_shocker("tag", second, "app:1").check()

    rows = name_rows(fresh_shocker("images").check())
    assert (second, "app:1") in rows and (first, "app:1") not in rows
    assert fresh_shocker("inspect", "--type", "image", "app:1").check().out.count(second) >= 1


def test_rmi_name_removes_the_name_then_the_image_with_the_last(
    fresh_shocker: Shocker, images: ImageSet
) -> None:
    image_id = fresh_shocker("pull", images.busybox.ref).check().created_id()
    fresh_shocker("tag", image_id, "app:1").check()

    assert fresh_shocker("rmi", "app:1").check().lines == ["Untagged: app:1"]
    assert name_rows(fresh_shocker("images").check()) == [(image_id, "busybox:latest")]
    assert (fresh_shocker.root / image_id).exists()

    last = fresh_shocker("rmi", "busybox").check()

    assert last.lines == ["Untagged: busybox:latest", f"Removed: {image_id}"]
    assert name_rows(fresh_shocker("images").check()) == []
    assert not (fresh_shocker.root / image_id).exists()


def test_rmi_id_removes_the_image_with_all_its_names(
    fresh_shocker: Shocker, images: ImageSet
) -> None:
    image_id = fresh_shocker("pull", images.busybox.ref).check().created_id()
    fresh_shocker("tag", image_id, "app:1").check()

    assert fresh_shocker("rmi", image_id).check().lines == [f"Removed: {image_id}"]
    assert name_rows(fresh_shocker("images").check()) == []
    assert_one_line_error(fresh_shocker("tag", "app:1", "x"), "No image named 'app:1' exists")


def test_an_untagged_image_is_listed_as_none(fresh_shocker: Shocker, images: ImageSet) -> None:
    first = fresh_shocker("pull", images.busybox.ref).check().created_id()
    second = fresh_shocker("pull", images.layered.ref).check().created_id()

    fresh_shocker("tag", second, "busybox").check()

    rows = name_rows(fresh_shocker("images").check())
    assert (first, "<none>") in rows and (second, "busybox:latest") in rows


def test_tag_errors_name_what_is_wrong(fresh_shocker: Shocker, images: ImageSet) -> None:
    image_id = fresh_shocker("pull", images.busybox.ref).check().created_id()

    assert_one_line_error(fresh_shocker("tag", "nothing", "x"), "No image named 'nothing' exists")
    assert_one_line_error(fresh_shocker("tag", image_id, "Bad/Name"), "invalid reference format")
    assert_one_line_error(
        fresh_shocker("tag", image_id, "app@sha256:" + "a" * 64), "digest reference"
    )
    assert fresh_shocker("images", "-q").check().lines == [image_id]
