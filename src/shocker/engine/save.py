"""save: images as one archive: a docker-archive (`manifest.json`, `repositories`, a config
and one uncompressed tar per layer, as `docker save` and `podman save` write it) or an OCI
image layout tar (`oci-layout`, `index.json`, `blobs/sha256/...`).

Layers come from the blob store byte for byte (an OCI archive keeps compressed blobs as
they are; a docker-archive holds each layer uncompressed, its sha256 the config's diff_id).
An image without layer records (`init`, or replaced in place by `commit`) is written as one
layer made from its root filesystem; pending layers of a commit are made first.
"""

from __future__ import annotations

import contextlib
import hashlib
import os

from shocker.errors import StorageError
from shocker.record import record
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path
    from typing import Any

    from shocker.store.images import ImageRecord
    from shocker.store.store import Store
    from shocker.store.tarwriter import TarWriter

DOCKER_ARCHIVE = "docker-archive"
OCI_ARCHIVE = "oci-archive"
FORMATS = (DOCKER_ARCHIVE, OCI_ARCHIVE)
_CHUNK = 1 << 20
_QUEUED_CHUNKS = 8


@record(frozen=True)
class SavedLayer:
    diff_id: str  # sha256 of the uncompressed tar
    digest: str  # sha256 of the blob at `path`
    size: int  # bytes of the blob
    media_type: str
    compression: str  # of the blob: "gzip", "zstd" or ""
    path: Path


@record(frozen=True)
class SavedImage:
    image_id: str
    config: bytes  # the config JSON written to the archive
    layers: tuple[SavedLayer, ...]
    names: tuple[str, ...]  # the names to restore on load (RepoTags, ref.name)


def plan_save(store: Store, texts: list[str], scratch: Path) -> list[SavedImage]:
    """Every image resolved (an unknown name fails before a byte is written), in the order
    given, an image named twice listed once with both names."""
    from shocker.engine.layered import made

    order: list[str] = []
    found: dict[str, tuple[ImageRecord, list[str]]] = {}
    for text in texts:
        image = store.images.resolve(text)
        if image.id not in found:
            image = made(store, image)  # a committed image's pending layers
            order.append(image.id)
            found[image.id] = (image, [])
        name = _name_given(image, text)
        if name is not None and name not in found[image.id][1]:
            found[image.id][1].append(name)
    return [_saved_image(store, *found[image_id], scratch) for image_id in order]


def _name_given(image: ImageRecord, text: str) -> str | None:
    """The image's name that `text` stands for, as the image holds it; None when `text`
    named the image by id (Docker then writes no RepoTags either)."""
    from shocker.store.names import normalize, without_registry_host

    try:
        wanted = normalize(text)
    except ValueError:
        return None
    names = image.names
    for name in names:
        if normalize(name) == wanted:
            return name
    for name in names:
        if without_registry_host(name) == wanted:
            return name
    return None


def _saved_image(store: Store, image: ImageRecord, names: list[str], scratch: Path) -> SavedImage:
    from shocker.oci.archive import dump
    from shocker.store.compression import sniff_compression

    config: dict[str, Any] = image.config
    if not image.layers:
        layer, config = _flattened(store, image, scratch)
        return SavedImage(image.id, dump(config), (layer,), tuple(names))
    layers = []
    for entry in image.layers:
        digest = str(entry["digest"])
        path = store.blobs.path(digest)
        if not store.blobs.has(digest):
            raise StorageError(f"image {image.id} is missing its layer blob {digest[:19]}")
        layers.append(
            SavedLayer(
                diff_id=str(entry["diff_id"]),
                digest=digest,
                size=path.stat().st_size,
                media_type=str(entry.get("media_type", "")),
                compression=sniff_compression(path),
                path=path,
            )
        )
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    if list(diff_ids) != [layer.diff_id for layer in layers]:
        raise StorageError(f"image {image.id}'s config does not list its layers' diff_ids")
    return SavedImage(image.id, dump(config), tuple(layers), tuple(names))


class _HashingFile:
    """A file-like sink that hashes what it writes (the flattened layer's diff_id)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]
        self.size += len(data)
        return len(data)


def _flattened(
    store: Store, image: ImageRecord, scratch: Path
) -> tuple[SavedLayer, dict[str, Any]]:
    """One uncompressed layer tar of the image's whole root filesystem, and its config
    saying so (rootfs.diff_ids, a history entry for the layer)."""
    from shocker.oci.image_config import with_history
    from shocker.oci.mediatypes import OCI_LAYER
    from shocker.store.layerdiff import changes, write_layer_tar
    from shocker.store.records import now

    scratch.mkdir(exist_ok=True)
    path = scratch / f"{image.id}.tar"
    rootfs = store.layout.image_rootfs(image.id)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            sink = _HashingFile(fd)
            write_layer_tar(rootfs, changes(None, rootfs), sink, None)  # type: ignore[arg-type]
        finally:
            os.close(fd)
    except OSError as error:
        raise StorageError(f"cannot write the layer of {image.id}: {error.strerror}") from None
    diff_id = "sha256:" + sink.hash.hexdigest()
    history = [h for h in image.config.get("history") or [] if h.get("empty_layer")]
    config = with_history({**image.config, "history": history}, now(), "shocker", [diff_id])
    layer = SavedLayer(diff_id, diff_id, sink.size, OCI_LAYER, "", path)
    return layer, config


def write_archive(
    images: list[SavedImage], fd: int, archive_format: str, label: str = "the archive"
) -> None:
    """The archive of `images` onto `fd`; `label` names the output in errors."""
    from shocker.store.tarwriter import TarWriter

    writer = TarWriter(fd, label)
    if archive_format == OCI_ARCHIVE:
        _write_oci(images, writer)
    else:
        _write_docker(images, writer)
    writer.close()


def _hex(digest: str) -> str:
    return digest.partition(":")[2]


def _write_docker(images: list[SavedImage], writer: TarWriter) -> None:
    from shocker.oci.archive import DockerArchiveImage, docker_manifest, repositories
    from shocker.oci.digest import sha256_digest

    written: set[str] = set()
    entries: list[DockerArchiveImage] = []
    tops: list[tuple[str, str]] = []
    for image in images:
        for layer in image.layers:
            if layer.diff_id not in written:
                written.add(layer.diff_id)
                _add_uncompressed(writer, f"{_hex(layer.diff_id)}.tar", layer)
        config_name = f"{_hex(sha256_digest(image.config))}.json"
        if config_name not in written:
            written.add(config_name)
            writer.add_bytes(config_name, image.config)
        layer_names = tuple(f"{_hex(layer.diff_id)}.tar" for layer in image.layers)
        entries.append(DockerArchiveImage(config_name, layer_names, image.names))
        tops += [(name, _hex(image.layers[-1].diff_id)) for name in image.names]
    writer.add_bytes("manifest.json", docker_manifest(entries))
    writer.add_bytes("repositories", repositories(tops))


def _add_uncompressed(writer: TarWriter, name: str, layer: SavedLayer) -> None:
    """The layer's tar as member `name`: the blob itself, or decompressed on the way (its
    length counted first when the output cannot be patched afterwards)."""
    if not layer.compression:
        writer.add_file(name, str(layer.path))
        return
    size = None
    if not writer.seekable:
        size = sum(len(chunk) for chunk in _decompressed(layer.path))
    writer.add_stream(name, _decompressed(layer.path), size)


def _decompressed(path: Path) -> Iterator[bytes]:
    """The blob's uncompressed bytes, inflated in a thread of their own while the caller
    writes the previous chunks (zlib and write(2) both run without the GIL)."""
    import queue
    import threading

    from shocker.store.compression import open_decompressed

    chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=_QUEUED_CHUNKS)
    stop = threading.Event()

    def inflate() -> None:
        try:
            with open(path, "rb") as blob:
                stream = open_decompressed(blob)
                while not stop.is_set() and (chunk := stream.read(_CHUNK)):
                    chunks.put(chunk)
            chunks.put(None)
        except BaseException as error:  # handed to the writer, which raises it
            chunks.put(error)

    worker = threading.Thread(target=inflate, daemon=True)
    worker.start()
    try:
        while (item := chunks.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # let a producer blocked on a full queue finish
            with contextlib.suppress(queue.Empty):
                chunks.get(timeout=0.1)
        worker.join()


def _write_oci(images: list[SavedImage], writer: TarWriter) -> None:
    from shocker.oci.archive import (
        OCI_INDEX,
        OCI_LAYOUT,
        blob_path,
        oci_index,
        oci_layer_type,
        oci_layout,
        oci_manifest,
    )
    from shocker.oci.digest import sha256_digest

    writer.add_bytes(OCI_LAYOUT, oci_layout())
    writer.add_directory("blobs")
    writer.add_directory("blobs/sha256")
    written: set[str] = set()
    index: list[tuple[str, int, str | None]] = []

    def add_blob(digest: str, data: bytes | None = None, path: Path | None = None) -> None:
        if digest in written:
            return
        written.add(digest)
        if data is not None:
            writer.add_bytes(blob_path(digest), data)
        elif path is not None:
            writer.add_file(blob_path(digest), str(path))

    for image in images:
        for layer in image.layers:
            add_blob(layer.digest, path=layer.path)
        config_digest = sha256_digest(image.config)
        add_blob(config_digest, image.config)
        manifest = oci_manifest(
            config_digest,
            len(image.config),
            [
                (oci_layer_type(layer.media_type, layer.compression), layer.digest, layer.size)
                for layer in image.layers
            ],
        )
        manifest_digest = sha256_digest(manifest)
        add_blob(manifest_digest, manifest)
        names: list[str | None] = list(image.names) or [None]
        index += [(manifest_digest, len(manifest), name) for name in names]
    writer.add_bytes(OCI_INDEX, oci_index(index))
