"""ContainerStore on a real btrfs: snapshots of images, names, records, removal."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shocker.errors import Conflict, StorageError
from shocker.store.containers import ContainerRecord
from shocker.store.images import ImageRecord
from shocker.store.store import Store


def make(image: ImageRecord, name: str | None = None):  # type: ignore[no-untyped-def]
    def make_record(container_id: str) -> ContainerRecord:
        return ContainerRecord(
            id=container_id,
            name=name,
            image_id=image.id,
            image=image.reference or image.id,
            command=["sh"],
            created="2024-01-01T00:00:00.000000Z",
        )

    return make_record


@pytest.fixture
def image(store: Store) -> ImageRecord:
    record = store.images.add(
        rootfs_from=None, reference="busybox:latest", config={}, source="init"
    )
    (store.layout.image_rootfs(record.id) / "etc").mkdir()
    (store.layout.image_rootfs(record.id) / "etc/hostname").write_text("image")
    return record


def test_a_container_gets_its_own_snapshot_of_the_image(store: Store, image: ImageRecord) -> None:
    container = store.containers.create(image, "web", make(image, "web"))
    rootfs = store.layout.container_rootfs(container.id)
    assert rootfs == store.layout.root / container.id
    assert (rootfs / "etc/hostname").read_text() == "image"
    (rootfs / "etc/hostname").write_text("changed")
    assert (store.layout.image_rootfs(image.id) / "etc/hostname").read_text() == "image"
    assert store.containers.get(container.id) == container
    assert [c.id for c in store.containers.list()] == [container.id]
    assert store.containers.resolve("web").id == container.id


def test_a_taken_name_is_a_conflict_naming_the_holder(store: Store, image: ImageRecord) -> None:
    first = store.containers.create(image, "web", make(image, "web"))
    with pytest.raises(Conflict, match=f"already in use by {first.id}"):
        store.containers.create(image, "web", make(image, "web"))
    assert len(store.containers.list()) == 1
    assert sorted(p.name for p in store.layout.root.iterdir()) == sorted(
        [".shocker", image.id, first.id]
    )


def test_concurrent_creates_with_one_name_let_exactly_one_win(
    store: Store, image: ImageRecord
) -> None:
    barrier = threading.Barrier(10)

    def create(_: int) -> str:
        barrier.wait()
        try:
            return store.containers.create(image, "only", make(image, "only")).id
        except Conflict:
            return "conflict"

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(create, range(10)))
    assert results.count("conflict") == 9
    assert len(store.containers.list()) == 1


def test_twenty_concurrent_creates_get_distinct_ids(store: Store, image: ImageRecord) -> None:
    with ThreadPoolExecutor(20) as pool:
        ids = list(
            pool.map(lambda _: store.containers.create(image, None, make(image)).id, range(20))
        )
    assert len(set(ids)) == 20
    assert {c.id for c in store.containers.list()} == set(ids)


def test_removal_deletes_root_filesystem_record_and_log_and_is_idempotent(
    store: Store, image: ImageRecord
) -> None:
    container = store.containers.create(image, None, make(image))
    store.containers.log_path(container.id).write_text("output\n")
    store.containers.remove(container.id)
    store.containers.remove(container.id)
    assert not store.layout.container_rootfs(container.id).exists()
    assert not store.layout.container_dir(container.id).exists()
    assert store.containers.list() == []
    assert list(store.layout.tmp.iterdir()) == []


def test_a_failing_record_builder_leaves_nothing_behind(store: Store, image: ImageRecord) -> None:
    def broken(container_id: str) -> ContainerRecord:
        raise StorageError("no")

    with pytest.raises(StorageError):
        store.containers.create(image, None, broken)
    assert sorted(p.name for p in store.layout.root.iterdir()) == [".shocker", image.id]
    assert list(store.layout.containers.iterdir()) == []
    assert list(store.layout.tmp.iterdir()) == []


def test_removing_the_image_leaves_its_containers_intact(store: Store, image: ImageRecord) -> None:
    container = store.containers.create(image, None, make(image))
    store.images.remove(image.id)
    assert (store.layout.container_rootfs(container.id) / "etc/hostname").read_text() == "image"


def test_volumes_live_under_the_store(store: Store) -> None:
    path = store.volumes.ensure("data")
    assert path.is_dir()
    assert Path(store.layout.volumes) in path.parents
    assert store.volumes.list() == ["data"]
