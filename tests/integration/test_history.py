"""`shocker history`: Docker's header, then a row per step, newest first."""

from __future__ import annotations

from tests.support.assertions import assert_one_line_error
from tests.support.catalog import ImageSet
from tests.support.shocker import Shocker

HEADER = ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]


def test_history_has_a_row_per_layer(fresh_shocker: Shocker, images: ImageSet) -> None:
    image_id = fresh_shocker("pull", images.layered.ref).check().created_id()

    lines = fresh_shocker("history", images.layered.ref).check().lines

    assert lines[0].split() == HEADER
    rows = lines[1:]
    assert len(rows) >= len(images.layered.layer_digests)
    assert rows[0].split()[0] == image_id
    assert all(row.split()[0] == "<missing>" for row in rows[1:])
    quiet = fresh_shocker("history", "-q", image_id).check().lines
    assert quiet == [image_id] + ["<missing>"] * (len(rows) - 1)


def test_a_commit_adds_its_step_on_top(fresh_shocker: Shocker, images: ImageSet) -> None:
    fresh_shocker("pull", images.busybox.ref).check()
    cid = fresh_shocker("run", "-d", "busybox", "sh", "-c", "echo x > /x").check().out.split()[-1]
    fresh_shocker("wait", cid).check()
    fresh_shocker("commit", cid, "with-step:1").check()
    fresh_shocker("rm", cid).check()

    lines = fresh_shocker("history", "--no-trunc", "with-step:1").check().lines

    assert "shocker commit" in lines[1]
    assert len(lines) - 1 == len(images.busybox.layer_digests) + 1


def test_history_of_a_missing_image_is_one_line(fresh_shocker: Shocker) -> None:
    assert_one_line_error(fresh_shocker("history", "nothing:1"), "No image named 'nothing:1'")
