"""Pull: resolve a reference, download missing blobs in parallel, apply layers as they arrive.

Nothing is trusted before its digest checks: blobs are verified by the registry client before
they enter the blob store, each layer's uncompressed digest is checked against the config's
diff_ids while it is applied, and the image record is written last (the commit point).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from shocker.errors import RegistryError

if TYPE_CHECKING:
    from pathlib import Path

    from shocker.oci.manifest import Descriptor
    from shocker.oci.platform import Platform
    from shocker.oci.reference import Reference
    from shocker.registry.client import RegistryClient, ResolvedImage
    from shocker.store.images import ImageRecord
    from shocker.store.store import Store

PARALLEL_DOWNLOADS = 4


class PullReporter(Protocol):
    def layer_started(self, digest: str, size: int) -> None: ...

    def layer_progress(self, digest: str, nbytes: int) -> None: ...

    def layer_done(self, digest: str) -> None: ...

    def finish(self) -> None: ...


@dataclass(frozen=True)
class PullResult:
    image: ImageRecord
    created: bool  # False when the reference already resolved to an image held here


def pull(
    store: Store,
    client: RegistryClient,
    ref: Reference,
    reporter: PullReporter,
    platform: Platform | None = None,
) -> PullResult:
    resolved = client.resolve(ref, platform)
    name = ref.familiar()
    existing = store.images.find_by_digest(resolved.manifest_digest, name)
    if existing is not None:
        return PullResult(existing, created=False)
    try:
        top = ensure_layers(store, client, resolved, reporter)
    finally:
        reporter.finish()
    image = store.images.add(
        rootfs_from=top,
        reference=name,
        repository_digest=resolved.manifest_digest,
        config=resolved.config.raw,
        layers=layer_records(resolved),
        source="pull",
    )
    return PullResult(image, created=True)


def layer_records(resolved: ResolvedImage) -> list[dict[str, object]]:
    from shocker.oci.chain import chain_ids

    diff_ids = resolved.config.diff_ids
    chains = chain_ids(diff_ids)
    return [
        {
            "digest": layer.digest,
            "size": layer.size,
            "media_type": layer.media_type,
            "diff_id": diff_id,
            "chain_id": chain,
        }
        for layer, diff_id, chain in zip(resolved.manifest.layers, diff_ids, chains, strict=True)
    ]


def ensure_layers(
    store: Store, client: RegistryClient, resolved: ResolvedImage, reporter: PullReporter
) -> Path | None:
    """Make every layer subvolume of the image exist; return the top one (None: no layers)."""
    from shocker.oci.chain import chain_ids

    layers = resolved.manifest.layers
    diff_ids = resolved.config.diff_ids
    if len(layers) != len(diff_ids):
        raise RegistryError(
            f"image {resolved.reference.familiar()} is invalid: "
            f"{len(layers)} layers but {len(diff_ids)} diff_ids in its config"
        )
    if not layers:
        return None
    chains = chain_ids(diff_ids)
    # Layers below the first missing chain exist already; everything above must be applied.
    first_missing = next((i for i, c in enumerate(chains) if not store.layers.has(c)), None)
    if first_missing is None:
        return store.layers.path(chains[-1])
    todo = list(range(first_missing, len(layers)))
    downloads: dict[int, Future[None]] = {}
    cancel = threading.Event()
    with ThreadPoolExecutor(max_workers=PARALLEL_DOWNLOADS) as pool:
        try:
            for i in todo:
                if not store.blobs.has(layers[i].digest):
                    reporter.layer_started(layers[i].digest, layers[i].size)
                    downloads[i] = pool.submit(
                        _download, store, client, resolved.reference, layers[i], reporter, cancel
                    )
            for i in todo:
                if i in downloads:
                    downloads[i].result()
                    reporter.layer_done(layers[i].digest)
                parent = chains[i - 1] if i > 0 else None
                store.layers.create(chains[i], parent, _applier(store, layers[i], diff_ids[i]))
        except BaseException:
            cancel.set()
            for future in downloads.values():
                future.cancel()
            raise
    return store.layers.path(chains[-1])


def _download(
    store: Store,
    client: RegistryClient,
    ref: Reference,
    layer: Descriptor,
    reporter: PullReporter,
    cancel: threading.Event,
) -> None:
    if cancel.is_set():
        return
    partial = store.blobs.partial_path(layer.digest)
    client.fetch_blob(ref, layer, partial, lambda n: reporter.layer_progress(layer.digest, n))
    store.blobs.commit(layer.digest, partial)


def _applier(store: Store, layer: Descriptor, diff_id: str) -> Callable[[Path], None]:
    def apply(target: Path) -> None:
        from shocker.store.compression import open_decompressed
        from shocker.store.unpack import apply_layer

        with open(store.blobs.path(layer.digest), "rb") as blob:
            actual = apply_layer(open_decompressed(blob), target)
        if actual != diff_id:
            raise RegistryError(
                f"layer {layer.digest[:19]} does not match its diff_id "
                f"(expected {diff_id[:19]}, got {actual[:19]})"
            )

    return apply
