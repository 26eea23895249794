"""BuildCache records: put, get, entries, what each keeps alive, remove and prune."""

from __future__ import annotations

from shocker.store.buildcache import new_entry
from shocker.store.store import Store

LAYER = {
    "digest": "sha256:" + "a" * 64,
    "diff_id": "sha256:" + "b" * 64,
    "chain_id": "sha256:" + "b" * 64,
    "size": 3,
    "media_type": "application/vnd.oci.image.layer.v1.tar+gzip",
}


def test_entries_keep_their_layers_and_image_until_removed(store: Store) -> None:
    cache = store.build_cache
    first = new_entry("1" * 64, None, "RUN true", {"config": {}}, [LAYER])
    second = new_entry("2" * 64, first.key, "CMD x", {"config": {"Cmd": ["x"]}}, [LAYER])
    cache.put(first)
    cache.put(second)
    cache.set_image(second.key, "img-12345")

    assert sorted(e.key for e in cache.entries()) == [first.key, second.key]
    got = cache.get(second.key)
    assert got is not None
    assert got.image_ids == ["img-12345"]
    assert got.chain_ids == [LAYER["chain_id"]] and got.digests == [LAYER["digest"]]
    assert cache.get("3" * 64) is None

    cache.remove(first)
    assert [e.key for e in cache.entries()] == [second.key]
    assert [e.key for e in cache.prune()] == [second.key]
    assert cache.entries() == []


def test_a_damaged_record_is_a_miss(store: Store) -> None:
    store.layout.build_cache.mkdir(parents=True, exist_ok=True)
    store.layout.build_cache_entry("4" * 64).write_text("{not json")
    assert store.build_cache.get("4" * 64) is None
    assert store.build_cache.entries() == []
