"""import: a filesystem tar (plain or compressed, a file, stdin or a URL) as a one-layer image, as
`docker import` makes it: the tar is the layer blob, applied with the same applier as a
pull's layers, and the config gets Docker's `--change` instructions."""

from __future__ import annotations

import os

from shocker.errors import StorageError
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path
    from typing import Any, BinaryIO

    from shocker.settings import Settings
    from shocker.store.images import ImageRecord
    from shocker.store.store import Store

_CHUNK = 1 << 20


def import_tar(
    store: Store,
    source: BinaryIO,
    name: str | None,
    changes: list[str],
    message: str | None = None,
) -> ImageRecord:
    from shocker.engine.commit import apply_changes
    from shocker.oci.image_config import empty_config
    from shocker.oci.reference import parse_reference
    from shocker.store.gc import creating
    from shocker.store.layers import scratch_path

    reference = parse_reference(name).familiar() if name else None
    config = apply_changes(empty_config(), changes)  # bad --change fails before any work
    blob = scratch_path(store.layout, "import")
    _spool_or_remove(source, blob)
    with creating(store.layout):  # no sweep between the layer and the record naming it
        return _import_spooled(store, blob, reference, config, message)


def is_url(text: str) -> bool:
    """`docker import` takes an http(s) URL where a file name could be."""
    return text.startswith(("http://", "https://"))


def import_url(
    store: Store,
    settings: Settings,
    url: str,
    name: str | None,
    changes: list[str],
    message: str | None = None,
) -> ImageRecord:
    """`import URL`: the tarball downloaded whole (its Content-Length, or its chunked
    framing, says where it ends; a cut download is an error, never a layer), then imported
    as a file would be."""
    from shocker.engine.commit import apply_changes
    from shocker.oci.image_config import empty_config
    from shocker.oci.reference import parse_reference
    from shocker.store.gc import creating
    from shocker.store.layers import scratch_path

    reference = parse_reference(name).familiar() if name else None
    config = apply_changes(empty_config(), changes)
    blob = scratch_path(store.layout, "import")
    try:
        _download(settings, url, blob)
    except BaseException:
        blob.unlink(missing_ok=True)
        raise
    with creating(store.layout):
        return _import_spooled(store, blob, reference, config, message)


def _download(settings: Settings, url: str, path: Path) -> None:
    from urllib.parse import urlsplit

    from shocker.errors import RegistryError
    from shocker.registry.http import HTTPError
    from shocker.registry.transport import Transport

    host = urlsplit(url).netloc
    transport = Transport(settings, tries=3)
    try:
        with transport.send("GET", url, {}, registry=host) as response:
            if response.status_code != 200:
                raise RegistryError(
                    f"cannot import {url}: {response.status_code} {response.reason_phrase}"
                )
            length = response.headers.get("content-length")
            chunked = "chunked" in (response.headers.get("transfer-encoding") or "").lower()
            if length is None and not chunked:
                raise RegistryError(
                    f"cannot import {url}: the answer has no Content-Length, so a complete "
                    "download cannot be told from a cut one"
                )
            _spool(_Chunks(response.iter_bytes()), path)
    except HTTPError as error:
        raise RegistryError(f"cannot import {url}: {error.reason}") from None
    finally:
        transport.close()
    if length is not None and path.stat().st_size != int(length):
        raise RegistryError(f"cannot import {url}: the download is not whole")


class _Chunks:
    """An iterator of bytes as the `read` that _spool takes."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks

    def read(self, size: int = -1) -> bytes:
        return next(self._chunks, b"")


def _spool_or_remove(source: BinaryIO, blob: Path) -> None:
    try:
        _spool(source, blob)
    except BaseException:
        blob.unlink(missing_ok=True)
        raise


def _import_spooled(
    store: Store, blob: Path, reference: str | None, config: dict[str, Any], message: str | None
) -> ImageRecord:
    from shocker.oci.image_config import with_history
    from shocker.oci.mediatypes import OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD
    from shocker.store.compression import blob_hashes, sniff_compression
    from shocker.store.records import now

    try:
        compression = sniff_compression(blob)
        diff_id, digest, size = blob_hashes(blob)
        top = store.layers.create(diff_id, None, _applier(blob, diff_id))
        if not store.blobs.has(digest, size):
            store.blobs.commit(digest, blob)
    finally:
        blob.unlink(missing_ok=True)
    media_type = {"gzip": OCI_LAYER_GZIP, "zstd": OCI_LAYER_ZSTD}.get(compression, OCI_LAYER)
    layer = {
        "digest": digest,
        "size": size,
        "media_type": media_type,
        "diff_id": diff_id,
        "chain_id": diff_id,
    }
    config = with_history(config, now(), "shocker import", [diff_id], comment=message)
    return store.images.add(
        rootfs_from=top,
        reference=reference,
        config=config,
        layers=[layer],
        source="import",
    )


def _spool(source: BinaryIO | _Chunks, path: Path) -> None:
    """The whole input into `path` (stdin cannot be read twice)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            while chunk := source.read(_CHUNK):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    except OSError as error:
        raise StorageError(f"cannot store the imported tar: {error.strerror}") from None


def _applier(blob: Path, diff_id: str) -> Callable[[Path], None]:
    def apply(target: Path) -> None:
        from shocker.store.compression import open_decompressed
        from shocker.store.unpack import apply_layer

        with open(blob, "rb") as stream:
            applied = apply_layer(open_decompressed(stream), target)
        if applied != diff_id:
            raise StorageError("the imported tar changed while it was read")

    return apply
