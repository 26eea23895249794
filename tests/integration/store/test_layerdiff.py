"""Layer diffs between two btrfs snapshots: content, whiteouts, opaque directories, bytes."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from pathlib import Path

from shocker.store import btrfs
from shocker.store.layerdiff import create_layer
from shocker.store.store import Store
from shocker.store.unpack import apply_layer


def make_base(store: Store, name: str) -> Path:
    base = store.layout.root / name
    btrfs.create_subvolume(base)
    for directory in ("etc", "data/sub", "gone-dir/inner", "replaced"):
        (base / directory).mkdir(parents=True)
    (base / "etc/keep").write_text("keep\n")
    (base / "etc/edit").write_text("old\n")
    (base / "etc/remove").write_text("bye\n")
    (base / "data/sub/deep").write_text("deep\n")
    (base / "gone-dir/inner/x").write_text("x\n")
    (base / "replaced/old").write_text("old\n")
    (base / "etc/link").symlink_to("keep")
    return base


def change(child: Path) -> None:
    (child / "etc/edit").write_text("new\n")
    (child / "etc/remove").unlink()
    (child / "etc/new").write_text("added\n")
    os.link(child / "etc/new", child / "etc/new-hardlink")
    (child / "data/sub/deep").chmod(0o600)
    import shutil

    shutil.rmtree(child / "gone-dir")
    shutil.rmtree(child / "replaced")
    (child / "replaced").mkdir()
    (child / "replaced/fresh").write_text("fresh\n")


def members(store: Store, digest: str) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(store.blobs.path(digest), "r:gz") as tar:
        return {m.name: m for m in tar.getmembers()}


def test_layer_holds_only_changes_with_whiteouts_and_opaque_markers(store: Store) -> None:
    base = make_base(store, "base")
    child = store.layout.root / "child"
    btrfs.snapshot(base, child)
    change(child)

    layer = create_layer(store, base, None, child)

    found = members(store, layer.digest)
    assert set(found) == {
        "etc",
        "etc/edit",
        "etc/.wh.remove",
        "etc/new",
        "etc/new-hardlink",
        "data",
        "data/sub",
        "data/sub/deep",
        ".wh.gone-dir",
        "replaced",
        "replaced/.wh..wh..opq",
        "replaced/fresh",
    }
    assert found["etc/new-hardlink"].islnk() and found["etc/new-hardlink"].linkname == "etc/new"
    assert found["data/sub/deep"].mode == 0o600
    order = list(found)
    assert order.index("etc") < order.index("etc/edit")
    assert (
        order.index("replaced")
        < order.index("replaced/.wh..wh..opq")
        < order.index("replaced/fresh")
    )
    blob = store.blobs.path(layer.digest).read_bytes()
    assert layer.digest == "sha256:" + hashlib.sha256(blob).hexdigest()
    assert layer.size == len(blob)
    assert layer.diff_id == "sha256:" + hashlib.sha256(gzip.decompress(blob)).hexdigest()
    kept = store.layers.path(layer.chain_id)
    assert btrfs.is_readonly(kept)
    assert (kept / "replaced/fresh").read_text() == "fresh\n"


def test_applying_the_layer_to_the_parent_gives_the_child(store: Store) -> None:
    base = make_base(store, "base")
    child = store.layout.root / "child"
    btrfs.snapshot(base, child)
    change(child)
    layer = create_layer(store, base, None, child)

    copy = store.layout.root / "copy"
    btrfs.snapshot(base, copy)
    with gzip.open(store.blobs.path(layer.digest)) as stream:
        apply_layer(stream, copy)  # type: ignore[arg-type]

    def tree(root: Path) -> dict[str, str]:
        return {
            str(p.relative_to(root)): p.read_text() if p.is_file() and not p.is_symlink() else ""
            for p in sorted(root.rglob("*"))
        }

    assert tree(copy) == tree(child)


def test_same_content_gives_byte_identical_layers_with_source_date_epoch(store: Store) -> None:
    digests = set()
    for attempt in ("a", "b"):
        base = make_base(store, f"base-{attempt}")
        child = store.layout.root / f"child-{attempt}"
        btrfs.snapshot(base, child)
        change(child)
        os.utime(child / "etc/new", (1, 1))  # older than the epoch: kept as it is
        digests.add(create_layer(store, base, None, child, epoch=1_700_000_000).digest)
    assert len(digests) == 1
    found = members(store, digests.pop())
    assert found["etc/new"].mtime == 1
    assert found["etc/edit"].mtime == 1_700_000_000


def test_a_layer_from_nothing_holds_the_whole_tree(store: Store) -> None:
    base = make_base(store, "base")
    layer = create_layer(store, None, None, base)
    found = members(store, layer.digest)
    assert "etc/link" in found and found["etc/link"].issym()
    assert not any(".wh." in name for name in found)
    assert layer.chain_id == layer.diff_id
    with tarfile.open(fileobj=io.BytesIO(store.blobs.path(layer.digest).read_bytes())) as tar:
        assert tar.getmember("etc/keep").uname == ""
