"""Push: an image's blobs to a registry repository, then its manifest under a tag.

What the registry has is asked first (HEAD), and a blob pulled from another repository of
the same registry is mounted from there rather than sent again; only then are the missing
blobs uploaded, in parallel. The manifest goes last: a push that fails or is killed leaves
the tag as it was, pointing at blobs that all exist.
"""

from __future__ import annotations

from shocker.errors import UsageError
from shocker.record import record
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, Protocol

    from shocker.oci.manifest import Descriptor
    from shocker.oci.reference import Reference
    from shocker.registry.client import RegistryClient
    from shocker.registry.upload import Uploader
    from shocker.store.store import Store

    class PushReporter(Protocol):
        def layer_exists(self, digest: str) -> None: ...

        def layer_started(self, digest: str, size: int) -> None: ...

        def layer_progress(self, digest: str, nbytes: int) -> None: ...

        def layer_done(self, digest: str) -> None: ...

        def finish(self) -> None: ...


PARALLEL_UPLOADS = 4


@record(frozen=True)
class PushResult:
    name: str  # the repository as the user would pull it: `127.0.0.1:5000/team/app`
    digest: str  # the manifest's, as the registry has it
    uploaded: int  # blobs sent (layers and config)


@record(frozen=True)
class _Blob:
    descriptor: Descriptor
    source: str | None  # a repository of the same registry it may be mounted from


def push(
    store: Store, client: RegistryClient, ref: Reference, local: str, reporter: PushReporter
) -> PushResult:
    """Push the image named `local` here to `ref` (a tag of a registry repository)."""
    from shocker.engine.layered import with_layers
    from shocker.oci.image_manifest import config_bytes, image_manifest
    from shocker.oci.manifest import Descriptor
    from shocker.oci.reference import Reference as Ref
    from shocker.registry.upload import Uploader
    from shocker.store.atomic import write_bytes_atomic
    from shocker.store.layers import scratch_path

    if ref.digest is not None or ref.tag is None:
        raise UsageError(f"push needs a tag, not a digest: '{local}'")
    image = with_layers(store, store.images.resolve(local))
    _check_diff_ids(image.config, image.layers, local)
    config = config_bytes(image.config)
    from shocker.oci.digest import compute_digest

    config_descriptor = Descriptor("", compute_digest(config), len(config))
    layers = [_layer_blob(layer, ref.registry) for layer in image.layers]
    manifest, media_type = image_manifest(config_descriptor, [blob.descriptor for blob in layers])
    # The config goes from a scratch file: it is no blob of the store (a sweep would not
    # count it as used).
    config_path = scratch_path(store.layout, "push")
    write_bytes_atomic(config_path, config, durable=False)
    uploader = Uploader(client, ref)
    blobs = [*layers, _Blob(config_descriptor, None)]
    paths = {config_descriptor.digest: config_path}
    try:
        uploaded = _send_blobs(store, uploader, blobs, reporter, paths)
    finally:
        reporter.finish()
        config_path.unlink(missing_ok=True)
    digest = uploader.put_manifest(ref.tag, manifest, media_type)
    name = Ref(ref.registry, ref.repository, None, None, ref.implicit_registry).familiar()
    return PushResult(name=name, digest=digest, uploaded=uploaded)


def _check_diff_ids(config: dict[str, Any], layers: list[dict[str, Any]], name: str) -> None:
    from shocker.errors import StorageError

    rootfs = config.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if diff_ids != [layer.get("diff_id") for layer in layers]:
        raise StorageError(f"the config of {name} does not name its layers (rootfs.diff_ids)")


def _layer_blob(layer: dict[str, Any], registry: str) -> _Blob:
    from shocker.oci.manifest import Descriptor

    source = None
    origin = layer.get("repository")
    if isinstance(origin, str):
        host, _, repository = origin.partition("/")
        if host == registry and repository:
            source = repository
    descriptor = Descriptor(str(layer["media_type"]), str(layer["digest"]), int(layer["size"]))
    return _Blob(descriptor, source)


def _send_blobs(
    store: Store,
    uploader: Uploader,
    blobs: list[_Blob],
    reporter: PushReporter,
    paths: dict[str, Path],
) -> int:
    """Every blob onto the registry; the number uploaded. The last blob is the config: it
    gets no line of its own."""
    from concurrent.futures import ThreadPoolExecutor

    def needed(blob: _Blob) -> tuple[bool, str | None]:
        """(upload needed, an upload location a declined mount already opened)."""
        digest = blob.descriptor.digest
        if uploader.has_blob(digest):
            return False, None
        if blob.source is not None and blob.source != uploader.ref.repository:
            location = uploader.mount(digest, blob.source)
            if location is None:
                return False, None
            return True, location
        return True, None

    def send(blob: _Blob, location: str | None, shown: bool) -> None:
        digest, size = blob.descriptor.digest, blob.descriptor.size

        def progress(nbytes: int) -> None:
            if shown:
                reporter.layer_progress(digest, nbytes)

        path = paths.get(digest) or store.blobs.path(digest)
        uploader.upload(digest, size, path, progress, location)
        if shown:
            reporter.layer_done(digest)

    with ThreadPoolExecutor(max_workers=PARALLEL_UPLOADS) as pool:
        answers = list(pool.map(needed, blobs))
        for blob, (missing, _) in zip(blobs[:-1], answers, strict=False):
            if missing:
                reporter.layer_started(blob.descriptor.digest, blob.descriptor.size)
            else:
                reporter.layer_exists(blob.descriptor.digest)
        futures = []
        sending: set[str] = set()
        for index, (blob, (missing, location)) in enumerate(zip(blobs, answers, strict=True)):
            if missing and blob.descriptor.digest not in sending:  # a layer may come twice
                sending.add(blob.descriptor.digest)
                futures.append(pool.submit(send, blob, location, index < len(blobs) - 1))
        try:
            for future in futures:
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return len(futures)
