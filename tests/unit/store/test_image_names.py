"""Image names: several per image, one image per name, moved and removed atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shocker.errors import NotFound
from shocker.record import asdict
from shocker.store.atomic import write_json_atomic
from shocker.store.images import ImageRecord, ImageStore
from shocker.store.layout import Layout


def _write(layout: Layout, image_id: str, created: str, reference: str | None = None) -> None:
    data = asdict(
        ImageRecord(
            id=image_id,
            repository_digest=None,
            config={},
            layers=[],
            created=created,
            source="pull",
        )
    )
    del data["names"]
    if reference is not None:
        data["reference"] = reference  # how records held their one name before the index
    write_json_atomic(layout.image_record(image_id), data)


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    layout = Layout(tmp_path)
    layout.images.mkdir(parents=True)
    _write(layout, "img-a0000", "2024-01-01T00:00:00.000000Z")
    _write(layout, "img-b0000", "2024-01-02T00:00:00.000000Z")
    return ImageStore(layout)


def test_an_image_holds_several_names_in_the_order_given(store: ImageStore) -> None:
    store.tag("img-a0000", "busybox:latest")
    store.tag("img-a0000", "127.0.0.1:5000/team/app:1", "other:2")

    names = store.get("img-a0000").names
    assert names == ["busybox:latest", "127.0.0.1:5000/team/app:1", "other:2"]
    assert store.resolve("127.0.0.1:5000/team/app:1").id == "img-a0000"
    assert store.resolve("team/app:1").id == "img-a0000"
    assert store.resolve("docker.io/library/busybox").id == "img-a0000"


def test_a_name_given_to_another_image_moves_there(store: ImageStore) -> None:
    store.tag("img-a0000", "app:1", "app:2")
    store.tag("img-b0000", "app:1")

    assert store.get("img-a0000").names == ["app:2"]
    assert store.get("img-b0000").names == ["app:1"]
    assert store.resolve("app:1").id == "img-b0000"
    held = json.loads(store.names_path.read_text())["names"]
    assert {key: entry["image"] for key, entry in held.items()} == {
        "app:1": "img-b0000",
        "app:2": "img-a0000",
    }


def test_a_name_is_one_name_however_it_is_spelled(store: ImageStore) -> None:
    store.tag("img-a0000", "busybox:latest")
    store.tag("img-b0000", "docker.io/library/busybox:latest")

    assert store.get("img-a0000").names == []
    assert store.resolve("busybox").id == "img-b0000"


def test_removing_a_name_keeps_the_image_while_it_holds_another(store: ImageStore) -> None:
    store.tag("img-a0000", "app:1", "app:2")

    first = store.remove_name("app")  # `app` is `app:latest`, which nobody holds
    removed = store.remove_name("app:1")

    assert first is None
    assert removed is not None and (removed.name, removed.image_removed) == ("app:1", False)
    assert store.get("img-a0000").names == ["app:2"]


def test_removing_the_last_name_removes_the_image(store: ImageStore) -> None:
    store.tag("img-a0000", "127.0.0.1:5000/team/app:1")

    removed = store.remove_name("team/app:1")

    assert removed is not None
    assert (removed.name, removed.image_id, removed.image_removed) == (
        "127.0.0.1:5000/team/app:1",
        "img-a0000",
        True,
    )
    assert [image.id for image in store.list()] == ["img-b0000"]
    with pytest.raises(NotFound):
        store.resolve("team/app:1")


def test_removing_an_image_by_id_drops_all_its_names(store: ImageStore) -> None:
    store.tag("img-a0000", "app:1", "app:2")

    store.remove("img-a0000")

    assert json.loads(store.names_path.read_text())["names"] == {}


def test_untag_takes_one_name_and_leaves_the_image(store: ImageStore) -> None:
    store.tag("img-a0000", "app:1")

    image = store.untag("app:1")

    assert image.id == "img-a0000" and image.names == []
    assert sorted(i.id for i in store.list()) == ["img-a0000", "img-b0000"]
    with pytest.raises(NotFound, match="No image named 'app:1' exists"):
        store.untag("app:1")


def test_records_from_before_the_index_keep_their_name_newest_first(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    layout.images.mkdir(parents=True)
    _write(layout, "img-a0000", "2024-01-01T00:00:00.000000Z", reference="tool:latest")
    _write(layout, "img-b0000", "2024-02-01T00:00:00.000000Z", reference="tool:latest")
    _write(layout, "img-c0000", "2024-03-01T00:00:00.000000Z", reference="busybox:latest")
    store = ImageStore(layout)

    assert store.resolve("tool").id == "img-b0000"
    store.tag("img-a0000", "extra:1")  # the first change writes the index, keeping them

    assert store.get("img-b0000").names == ["tool:latest"]
    assert store.get("img-c0000").names == ["busybox:latest"]
    assert store.get("img-a0000").names == ["extra:1"]


def test_the_names_file_is_not_written_into_image_records(store: ImageStore) -> None:
    store.tag("img-a0000", "app:1")

    assert "names" not in json.loads(store.layout.image_record("img-a0000").read_text())
