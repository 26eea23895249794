"""The live set: what image records and build cache entries keep (store/gc.py)."""

from __future__ import annotations

from pathlib import Path

from shocker.store.buildcache import new_entry
from shocker.store.gc import garbage, live_set
from shocker.store.images import ImageRecord
from shocker.store.layout import Layout


def digest(char: str) -> str:
    return "sha256:" + char * 64


def layer(blob: str, chain: str) -> dict[str, object]:
    return {"digest": digest(blob), "chain_id": digest(chain), "diff_id": digest(chain)}


def image(image_id: str, *layers: dict[str, object]) -> ImageRecord:
    return ImageRecord(
        id=image_id,
        repository_digest=None,
        config={},
        layers=list(layers),
        created="2026-01-01T00:00:00.000000Z",
        source="pull",
    )


def test_images_and_cache_entries_keep_their_layers_and_blobs() -> None:
    entry = new_entry("1" * 64, None, "RUN x", {}, [layer("c", "d")])

    live = live_set([image("img-00001", layer("a", "b")), image("img-00002")], [entry])

    assert live.chain_ids == {digest("b"), digest("d")}
    assert live.digests == {digest("a"), digest("c")}


def test_garbage_is_what_is_stored_and_not_live(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    for name in ("a", "e"):
        (layout.layers / (name * 64)).mkdir(parents=True)
        (layout.blobs / "sha256").mkdir(parents=True, exist_ok=True)
        (layout.blobs / "sha256" / (name * 64)).write_bytes(b"x")
    (layout.layers / "not-a-layer").mkdir()

    layers, blobs = garbage(layout, live_set([image("img-00001", layer("a", "a"))], []))

    assert layers == [digest("e")]
    assert blobs == [digest("e")]
