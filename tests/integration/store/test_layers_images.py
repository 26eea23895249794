"""LayerStore and ImageStore on a real btrfs: chains, commit points, names, concurrency."""

from __future__ import annotations

import io
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from shocker.errors import NotFound, StorageError
from shocker.settings import Settings
from shocker.store import btrfs
from shocker.store.images import ImageRecord
from shocker.store.store import Store
from shocker.store.unpack import apply_layer
from tests.unit.store.layertar import Entry, build, file, whiteout

BASE = "sha256:" + "1" * 64
TOP = "sha256:" + "2" * 64


def applier(entries: list[Entry], calls: list[Path] | None = None):  # type: ignore[no-untyped-def]
    def apply(target: Path) -> None:
        if calls is not None:
            calls.append(target)
        apply_layer(io.BytesIO(build(entries)), target)

    return apply


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def two_layers(store: Store) -> Path:
    store.layers.create(BASE, None, applier([file("bin/sh", b"sh"), file("etc/motd", b"hi")]))
    return store.layers.create(TOP, BASE, applier([whiteout("etc/motd"), file("etc/os", b"t")]))


def add_image(store: Store, reference: str | None, rootfs: Path | None = None) -> ImageRecord:
    return store.images.add(rootfs_from=rootfs, reference=reference, config={}, source="pull")


def test_a_layer_is_its_parent_plus_its_changes_and_read_only(store: Store) -> None:
    top = two_layers(store)
    base = store.layers.path(BASE)
    assert top == store.layout.layer(TOP)
    assert sorted(str(p.relative_to(top)) for p in top.rglob("*")) == [
        "bin",
        "bin/sh",
        "etc",
        "etc/os",
    ]
    assert (base / "etc/motd").read_bytes() == b"hi"
    assert btrfs.is_readonly(top) and btrfs.is_readonly(base)
    assert names(store.layout.tmp) == []


def test_an_existing_layer_is_reused_without_applying_again(store: Store) -> None:
    calls: list[Path] = []
    store.layers.create(BASE, None, applier([file("a")], calls))
    store.layers.create(BASE, None, applier([file("a")], calls))
    assert len(calls) == 1
    assert store.layers.has(BASE)


def test_a_failed_layer_leaves_neither_layer_nor_scratch(store: Store) -> None:
    def broken(target: Path) -> None:
        (target / "partial").write_text("x")
        raise StorageError("digest mismatch")

    with pytest.raises(StorageError):
        store.layers.create(BASE, None, broken)
    assert not store.layers.has(BASE)
    assert names(store.layout.tmp) == []


def test_concurrent_creation_of_one_layer_applies_it_once(store: Store) -> None:
    calls: list[Path] = []
    with ThreadPoolExecutor(8) as pool:
        paths = list(
            pool.map(
                lambda _: store.layers.create(BASE, None, applier([file("a")], calls)), range(8)
            )
        )
    assert len(calls) == 1
    assert set(paths) == {store.layers.path(BASE)}


def test_layers_extended_onto_one_scratch_are_read_only_snapshots_of_it(store: Store) -> None:
    scratch = store.layers.scratch(None)
    scratch = store.layers.extend(BASE, scratch, applier([file("etc/motd", b"hi")]))
    scratch = store.layers.extend(TOP, scratch, applier([whiteout("etc/motd"), file("os")]))
    base, top = store.layers.path(BASE), store.layers.path(TOP)
    assert btrfs.is_readonly(base) and btrfs.is_readonly(top)
    assert (base / "etc/motd").read_bytes() == b"hi"
    assert names(top) == ["etc", "os"] and names(top / "etc") == []
    assert not btrfs.is_readonly(scratch) and names(scratch) == ["etc", "os"]
    assert names(store.layout.tmp) == [scratch.name]


def test_extending_onto_a_layer_made_meanwhile_continues_from_that_layer(store: Store) -> None:
    store.layers.create(BASE, None, applier([file("made-elsewhere")]))
    calls: list[Path] = []
    scratch = store.layers.scratch(None)
    after = store.layers.extend(BASE, scratch, applier([file("never")], calls))
    assert calls == [] and not scratch.exists()
    assert names(after) == ["made-elsewhere"] and not btrfs.is_readonly(after)


def test_a_failed_extension_deletes_the_scratch_and_makes_no_layer(store: Store) -> None:
    def broken(target: Path) -> None:
        (target / "partial").write_text("x")
        raise StorageError("digest mismatch")

    scratch = store.layers.scratch(None)
    with pytest.raises(StorageError):
        store.layers.extend(BASE, scratch, broken)
    assert not store.layers.has(BASE)
    assert names(store.layout.tmp) == []


def test_an_image_is_a_writable_snapshot_of_its_top_layer(store: Store) -> None:
    image = add_image(store, "busybox:latest", two_layers(store))
    rootfs = store.layout.image_rootfs(image.id)
    assert rootfs == store.layout.root / image.id
    assert (rootfs / "etc/os").read_bytes() == b"t"
    (rootfs / "scribble").write_text("x")
    assert not (store.layers.path(TOP) / "scribble").exists()
    assert store.images.get(image.id) == image
    assert store.images.resolve("busybox").id == image.id


def test_an_image_without_layers_has_an_empty_root_filesystem(store: Store) -> None:
    image = add_image(store, "scratch:latest")
    assert names(store.layout.image_rootfs(image.id)) == []


def test_a_name_moves_to_the_newer_image_and_the_old_one_stays_listed(store: Store) -> None:
    old = add_image(store, "app:1")
    new = add_image(store, "app:1")
    listed = {i.id: i.reference for i in store.images.list()}
    assert listed == {old.id: None, new.id: "app:1"}
    assert store.images.resolve("app:1").id == new.id


def test_removing_an_image_removes_record_and_root_filesystem(store: Store) -> None:
    image = add_image(store, "gone:latest", two_layers(store))
    store.images.remove(image.id)
    assert not store.layout.image_rootfs(image.id).exists()
    with pytest.raises(NotFound):
        store.images.get(image.id)
    assert store.layers.has(TOP)


def test_replacing_the_root_filesystem_keeps_the_id(store: Store) -> None:
    image = add_image(store, "app:latest", two_layers(store))
    source = store.layout.root / "source"
    btrfs.create_subvolume(source)
    (source / "only").write_text("new")
    store.images.replace_rootfs(image.id, source, {"config": {"Cmd": ["sh"]}})
    replaced = store.images.get(image.id)
    assert names(store.layout.image_rootfs(image.id)) == ["only"]
    assert replaced.config == {"config": {"Cmd": ["sh"]}}
    assert replaced.reference == "app:latest"
    btrfs.delete_subvolume(source)
    assert names(store.layout.tmp) == []


def test_twenty_concurrent_image_additions_get_distinct_ids(store: Store) -> None:
    top = two_layers(store)
    barrier = threading.Barrier(20)

    def add(index: int) -> str:
        barrier.wait()
        return add_image(store, f"app:{index}", top).id

    with ThreadPoolExecutor(20) as pool:
        ids = list(pool.map(add, range(20)))
    assert len(set(ids)) == 20
    assert {i.id for i in store.images.list()} == set(ids)
    assert all(store.layout.image_rootfs(i).is_dir() for i in ids)


def test_twenty_processes_allocating_ids_at_once_get_distinct_ids(store: Store) -> None:
    top = two_layers(store)
    read_end, write_end = os.pipe()
    children = []
    for index in range(20):
        pid = os.fork()
        if pid == 0:
            try:
                image = add_image(store, f"proc:{index}", top)
                os.write(write_end, image.id.encode() + b"\n")
            finally:
                os._exit(0)
        children.append(pid)
    os.close(write_end)
    for pid in children:
        os.waitpid(pid, 0)
    with os.fdopen(read_end) as reader:
        ids = reader.read().split()
    assert len(ids) == 20
    assert len(set(ids)) == 20


def test_scratch_left_by_a_dead_process_is_swept_on_open(store: Store) -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    leftover = store.layout.tmp / f"layer-{pid}-deadbeef"
    btrfs.create_subvolume(leftover)
    (leftover / "half-applied").write_text("x")
    Store.open(Settings(root=store.layout.root))
    assert not leftover.exists()
