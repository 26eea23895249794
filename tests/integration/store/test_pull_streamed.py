"""Layers applied while their blobs download: kept only once digest and diff_id check."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shocker.engine.pull import pull
from shocker.errors import DigestMismatch, RegistryError
from shocker.oci.chain import chain_ids
from shocker.oci.reference import parse_reference
from shocker.registry.client import RegistryClient
from shocker.settings import Settings
from shocker.store.btrfs import is_readonly
from shocker.store.store import Store
from tests.support import tarbuild as tb
from tests.unit.registry.fakeserver import (
    FakeServer,
    Reply,
    Seen,
    blob_handler,
    make_image,
    publish,
    sha,
)


class _Quiet:
    def layer_started(self, digest: str, size: int) -> None:
        pass

    def layer_progress(self, digest: str, nbytes: int) -> None:
        pass

    def layer_done(self, digest: str) -> None:
        pass

    def finish(self) -> None:
        pass


@pytest.fixture
def registry() -> Iterator[FakeServer]:
    server = FakeServer("127.0.0.1")
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def client(store: Store, registry: FakeServer, tmp_path: Path) -> Iterator[RegistryClient]:
    settings = Settings(
        root=store.layout.root, registry=registry.host, docker_config=tmp_path / "none.json"
    )
    with RegistryClient(settings, backoff=0.01) as registry_client:
        yield registry_client


def _layers() -> list[bytes]:
    big = bytes(range(256)) * 16384  # 4 MiB: many reads while the download goes on
    return [
        tb.tar_bytes([tb.directory("data"), tb.file("data/big", big)]),
        tb.tar_bytes([tb.file("data/top", "top layer\n")]),
    ]


def _nothing_kept(store: Store, digests: list[str], chains: list[str]) -> None:
    assert store.images.list() == []
    assert not any(store.layers.has(chain) for chain in chains)
    assert not any(store.blobs.has(digest) for digest in digests)
    assert list(store.layout.tmp.iterdir()) == []


def test_layers_applied_while_downloading_make_the_image_and_their_blobs_are_stored(
    store: Store, client: RegistryClient, registry: FakeServer
) -> None:
    layers = _layers()
    publish(registry, "app", "latest", make_image(layers))
    result = pull(store, client, parse_reference(f"{registry.host}/app"), _Quiet())
    rootfs = store.layout.image_rootfs(result.image.id)
    assert (rootfs / "data/big").read_bytes() == bytes(range(256)) * 16384
    assert (rootfs / "data/top").read_text() == "top layer\n"
    assert all(store.blobs.has(sha(layer), len(layer)) for layer in layers)
    # The image's root filesystem is the top layer's writable twin; the layers stay read-only.
    top = store.layers.path(chain_ids([sha(layer) for layer in layers])[-1])
    assert is_readonly(top) and not is_readonly(rootfs)
    assert (top / "data/top").read_text() == "top layer\n"
    (rootfs / "data/top").write_text("changed\n")
    assert (top / "data/top").read_text() == "top layer\n"
    assert list(store.layout.tmp.iterdir()) == []


def test_layer_downloads_start_before_the_config_is_answered(
    store: Store, client: RegistryClient, registry: FakeServer
) -> None:
    layers = _layers()
    image = make_image(layers)
    publish(registry, "app", "latest", image)
    requested = threading.Semaphore(0)
    waited: list[bool] = []

    def counted(data: bytes) -> Callable[[Seen], Reply]:
        serve = blob_handler(data)

        def handle(seen: Seen) -> Reply:
            requested.release()
            return serve(seen)

        return handle

    def config(seen: Seen) -> Reply:
        # Answered only once both layers were asked for (or after 10 s, failing the test).
        waited.extend(requested.acquire(timeout=10) for _ in layers)
        return Reply(200, image.config)

    for layer in layers:
        registry.route(f"/v2/app/blobs/{sha(layer)}", counted(layer))
    registry.route(f"/v2/app/blobs/{sha(image.config)}", config)
    result = pull(store, client, parse_reference(f"{registry.host}/app"), _Quiet())
    assert waited == [True, True]
    rootfs = store.layout.image_rootfs(result.image.id)
    assert (rootfs / "data/top").read_text() == "top layer\n"


def test_a_blob_not_matching_its_digest_leaves_no_layer_blob_or_image(
    store: Store, client: RegistryClient, registry: FakeServer
) -> None:
    layers = _layers()
    publish(registry, "app", "latest", make_image(layers))
    # Same size, one byte changed near the end: most of it is applied before the check.
    evil = bytearray(layers[0])
    evil[-2000] ^= 1
    registry.route(f"/v2/app/blobs/{sha(layers[0])}", blob_handler(bytes(evil)))
    with pytest.raises(DigestMismatch):
        pull(store, client, parse_reference(f"{registry.host}/app"), _Quiet())
    digests = [sha(layer) for layer in layers]
    _nothing_kept(store, digests[:1], chain_ids(digests))


def test_a_layer_not_matching_its_diff_id_is_discarded(
    store: Store, client: RegistryClient, registry: FakeServer
) -> None:
    tar = _layers()[0]
    # make_image takes each blob's digest as its diff_id: a gzip blob's cannot match.
    blob = tb.compress(tar, tb.GZIP)
    publish(registry, "app", "latest", make_image([blob]))
    with pytest.raises(RegistryError, match="does not match its diff_id"):
        pull(store, client, parse_reference(f"{registry.host}/app"), _Quiet())
    assert store.images.list() == []
    assert not store.layers.has(sha(blob))
    assert list(store.layout.tmp.iterdir()) == []


def test_a_download_that_starts_over_is_applied_again_from_the_verified_blob(
    store: Store, client: RegistryClient, registry: FakeServer
) -> None:
    layers = _layers()
    publish(registry, "app", "latest", make_image(layers))
    # A resumable prefix from an earlier pull, and a registry that ignores ranges: the
    # client starts the blob over after the apply has read the prefix.
    store.blobs.partial_path(sha(layers[0])).write_bytes(layers[0][: 1 << 20])
    registry.route(f"/v2/app/blobs/{sha(layers[0])}", blob_handler(layers[0], ranges=False))
    result = pull(store, client, parse_reference(f"{registry.host}/app"), _Quiet())
    rootfs = store.layout.image_rootfs(result.image.id)
    assert (rootfs / "data/big").read_bytes() == bytes(range(256)) * 16384
    assert store.blobs.has(sha(layers[0]), len(layers[0]))
