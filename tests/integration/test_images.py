"""`shocker images`: the original's two columns, `-q` for scripts."""

from __future__ import annotations

from tests.support.assertions import IMAGE_ID, image_rows
from tests.support.catalog import ImageSet
from tests.support.shocker import Shocker


def test_images_on_an_empty_store_prints_only_the_header(fresh_shocker: Shocker) -> None:
    result = fresh_shocker("images").check()

    assert image_rows(result) == {}
    assert result.lines[0].split()[:2] == ["IMAGE_ID", "SOURCE"]


def test_images_quiet_on_an_empty_store_prints_nothing(fresh_shocker: Shocker) -> None:
    assert fresh_shocker("images", "-q").check().out == ""


def test_images_lists_each_pulled_image_with_its_source(
    fresh_shocker: Shocker, images: ImageSet
) -> None:
    busybox = fresh_shocker("pull", images.busybox.ref).check().created_id()
    layered = fresh_shocker("pull", images.layered.ref).check().created_id()

    rows = image_rows(fresh_shocker("images").check())

    assert rows[busybox][0] == "busybox:latest"
    assert rows[layered][0] == images.layered.ref
    assert len(rows) == 2


def test_images_quiet_prints_one_id_per_line(fresh_shocker: Shocker, images: ImageSet) -> None:
    first = fresh_shocker("pull", images.busybox.ref).check().created_id()
    second = fresh_shocker("pull", images.zstd.ref).check().created_id()

    lines = fresh_shocker("images", "-q").check().lines

    assert sorted(lines) == sorted([first, second])
    assert all(IMAGE_ID.match(line) for line in lines)


def test_image_rows_start_with_the_id_so_scripts_can_cut_it(
    fresh_shocker: Shocker, images: ImageSet
) -> None:
    image_id = fresh_shocker("pull", images.busybox.ref).check().created_id()

    rows = [line for line in fresh_shocker("images").check().lines[1:] if "busybox" in line]

    assert [row.split()[0] for row in rows] == [image_id]
