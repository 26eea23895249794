"""load: the images of an archive (a docker-archive as docker, podman and skopeo write it,
or an OCI image layout tar; either plain or compressed) into the store.

The archive is read once into scratch (store/spool.py). Every layer is then checked as it
is applied with the same applier as a pull: its uncompressed bytes against the config's
diff_id, and in an OCI layout its blob against the manifest's digest and size. Layers held
already (same chain id) are reused. Images are recorded only once every layer of every
image of the archive checked, so a bad archive lists nothing.
"""

from __future__ import annotations

import functools
import os

from shocker.oci.archive import ArchiveError
from shocker.record import record
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any, BinaryIO

    from shocker.oci.archive import IndexEntry
    from shocker.store.images import ImageRecord
    from shocker.store.spool import SpooledArchive, SpooledFile
    from shocker.store.store import Store
    from shocker.store.unpack import StagedLayer

_CHUNK = 1 << 20
STAGING_THREADS = 3


@record(frozen=True)
class LayerToLoad:
    member: SpooledFile
    diff_id: str
    digest: str | None  # an OCI layout's blob digest (and size); None in a docker-archive
    size: int | None
    media_type: str | None


@record(frozen=True)
class ImageToLoad:
    config: dict[str, Any]
    layers: tuple[LayerToLoad, ...]
    names: tuple[str, ...]


@record(frozen=True)
class Loaded:
    image: ImageRecord
    new: bool  # False: the same image (config and layers) was here already


def load(store: Store, source: BinaryIO) -> list[Loaded]:
    """Load every image of the archive read from `source`. An image held already (the same
    config and layers: what Docker's image id, the config's digest, says) is not made again;
    the archive's names move to it, so loading twice gives the same image."""
    from shocker.oci.chain import chain_ids
    from shocker.store.btrfs import delete_subvolume
    from shocker.store.compression import open_decompressed
    from shocker.store.gc import creating
    from shocker.store.layers import scratch_path
    from shocker.store.spool import spool_archive

    scratch = scratch_path(store.layout, "load")
    try:
        archive = spool_archive(open_decompressed(source), scratch)
        plans = images_in(archive)
        checked: dict[str, _Checked] = {}
        # No sweep between the layers and blobs made here and the records naming them.
        with creating(store.layout):
            layer_records = [_ensure_layers(store, plan, checked) for plan in plans]
            loaded = []
            for plan, records in zip(plans, layer_records, strict=True):
                top = chain_ids([layer.diff_id for layer in plan.layers])
                held = _held(store, plan.config, top)
                if held is not None:
                    if plan.names:
                        held = store.images.tag(held.id, *plan.names)
                    loaded.append(Loaded(held, False))
                    continue
                image = store.images.add(
                    rootfs_from=store.layers.path(top[-1]) if top else None,
                    names=plan.names,
                    config=plan.config,
                    layers=records,
                    source="load",
                )
                loaded.append(Loaded(image, True))
        return loaded
    finally:
        delete_subvolume(scratch)


def _held(store: Store, config: dict[str, Any], chains: list[str]) -> ImageRecord | None:
    """The image here with this config and these layers (the oldest, should there be
    several), whatever it was made by."""
    import json

    wanted = json.dumps(config, sort_keys=True)
    same = [
        image
        for image in store.images.list()
        if image.chain_ids == chains and json.dumps(image.config, sort_keys=True) == wanted
    ]
    return min(same, key=lambda image: image.created) if same else None


def images_in(archive: SpooledArchive) -> list[ImageToLoad]:
    """What the archive holds: manifest.json (docker-archive) wins over index.json (an OCI
    layout), as Docker's own archives carry both since Docker 25."""
    from shocker.oci.archive import DOCKER_MANIFEST, OCI_INDEX

    if archive.has(DOCKER_MANIFEST):
        return _docker_images(archive)
    if archive.has(OCI_INDEX):
        return _oci_images(archive)
    raise ArchiveError(
        f"archive has neither {DOCKER_MANIFEST} nor {OCI_INDEX}: "
        "not a docker-archive or an OCI archive"
    )


def _config(data: bytes, layer_count: int, where: str) -> dict[str, Any]:
    from shocker.errors import RegistryError
    from shocker.oci.image_config import ImageConfig

    try:
        config = ImageConfig.from_json(data)
    except RegistryError as error:
        raise ArchiveError(f"archive's {where}: {error.message}") from None
    if len(config.diff_ids) != layer_count:
        raise ArchiveError(
            f"archive's {where} lists {len(config.diff_ids)} diff_ids for {layer_count} layers"
        )
    return config.raw


def _docker_images(archive: SpooledArchive) -> list[ImageToLoad]:
    from shocker.oci.archive import DOCKER_MANIFEST, parse_docker_manifest

    plans = []
    for entry in parse_docker_manifest(archive.read(DOCKER_MANIFEST)):
        config = _config(archive.read(entry.config), len(entry.layers), entry.config)
        diff_ids = config["rootfs"]["diff_ids"]
        layers = tuple(
            LayerToLoad(archive.resolve(path), diff_id, None, None, None)
            for path, diff_id in zip(entry.layers, diff_ids, strict=True)
        )
        plans.append(ImageToLoad(config, layers, entry.repo_tags))
    return plans


def _verified_blob(archive: SpooledArchive, digest: str, size: int) -> bytes:
    """A small blob of an OCI layout (manifest, index, config), checked against its digest."""
    from shocker.oci.archive import blob_path
    from shocker.oci.digest import compute_digest, validate_digest

    validate_digest(digest, ArchiveError)
    data = archive.read(blob_path(digest))
    if len(data) != size or compute_digest(data, digest.partition(":")[0]) != digest:
        raise ArchiveError(f"archive's blob {digest[:19]} does not match its digest or size")
    return data


def _oci_images(archive: SpooledArchive) -> list[ImageToLoad]:
    from shocker.oci import mediatypes as mt
    from shocker.oci.archive import OCI_INDEX, parse_index

    order: list[str] = []
    names: dict[str, list[str]] = {}
    sizes: dict[str, int] = {}
    pending = [(entry, OCI_INDEX) for entry in parse_index(archive.read(OCI_INDEX))]
    while pending:
        entry, where = pending.pop(0)
        if entry.media_type in mt.INDEX_TYPES:
            nested = parse_index(_verified_blob(archive, entry.digest, entry.size), where)
            pending += [(_for_host(nested, entry.names), entry.digest[:19])]
            continue
        if entry.media_type not in mt.MANIFEST_TYPES:
            continue  # signatures, attestations, artifacts: not images
        if entry.digest not in names:
            order.append(entry.digest)
            names[entry.digest] = []
        names[entry.digest] += [n for n in entry.names if n not in names[entry.digest]]
        sizes[entry.digest] = entry.size
    if not order:
        raise ArchiveError(f"archive's {OCI_INDEX} lists no image manifest")
    return [_oci_image(archive, digest, sizes[digest], tuple(names[digest])) for digest in order]


def _for_host(entries: list[IndexEntry], names: tuple[str, ...]) -> IndexEntry:
    """The entry of a nested index for this machine, carrying the outer entry's names."""
    from shocker.errors import RegistryError
    from shocker.oci.manifest import Descriptor, Index, choose_platform
    from shocker.oci.platform import Platform, host_platform

    descriptors = tuple(
        Descriptor(
            e.media_type, e.digest, e.size, (), Platform(*e.platform) if e.platform else None
        )
        for e in entries
    )
    try:
        chosen = choose_platform(Index("", descriptors), host_platform())
    except RegistryError as error:
        raise ArchiveError(f"archive: {error.message}") from None
    match = next(e for e in entries if e.digest == chosen.digest)
    return IndexEntry(match.media_type, match.digest, match.size, names or match.names, None)


def _oci_image(
    archive: SpooledArchive, digest: str, size: int, names: tuple[str, ...]
) -> ImageToLoad:
    from shocker.errors import RegistryError
    from shocker.oci.archive import blob_path
    from shocker.oci.manifest import Manifest, check_image_manifest, parse_manifest

    try:
        manifest = parse_manifest(_verified_blob(archive, digest, size))
        if not isinstance(manifest, Manifest):
            raise ArchiveError(f"archive's manifest {digest[:19]} is an index")
        check_image_manifest(manifest)
    except RegistryError as error:
        raise ArchiveError(f"archive's manifest {digest[:19]}: {error.message}") from None
    config_data = _verified_blob(archive, manifest.config.digest, manifest.config.size)
    config = _config(config_data, len(manifest.layers), f"config {manifest.config.digest[:19]}")
    layers = tuple(
        LayerToLoad(
            archive.resolve(blob_path(layer.digest)),
            diff_id,
            layer.digest,
            layer.size,
            layer.media_type,
        )
        for layer, diff_id in zip(manifest.layers, config["rootfs"]["diff_ids"], strict=True)
    )
    return ImageToLoad(config, layers, names)


def _media_type(layer: LayerToLoad, compression: str) -> str:
    from shocker.oci import mediatypes as mt

    if layer.media_type:
        return layer.media_type
    return {"gzip": mt.OCI_LAYER_GZIP, "zstd": mt.OCI_LAYER_ZSTD}.get(compression, mt.OCI_LAYER)


@record()
class _Checked:
    """A layer blob of the archive once read: where it is now, what it hashed to."""

    path: Path
    diff_id: str
    digest: str
    size: int
    compression: str


def _check(layer: LayerToLoad, blob: _Checked) -> None:
    name = layer.member.name
    if blob.diff_id != layer.diff_id:
        raise ArchiveError(
            f"archive's layer {name} does not match its diff_id "
            f"(expected {layer.diff_id[:19]}, got {blob.diff_id[:19]})"
        )
    if layer.digest is not None and (blob.digest != layer.digest or blob.size != layer.size):
        raise ArchiveError(f"archive's layer {name} does not match its digest or size")


def _applier(
    layer: LayerToLoad, path: Path, compression: str, result: list[_Checked]
) -> Callable[[Path], None]:
    """Apply the blob at `path` onto a layer subvolume, raising (so that it goes) unless it
    checks; `result` receives what it hashed to."""

    def apply(target: Path) -> None:
        from shocker.store.compression import HashingReader, open_decompressed
        from shocker.store.unpack import apply_layer

        with open(path, "rb") as blob:
            if compression:
                reader = HashingReader(blob)
                diff_id = apply_layer(open_decompressed(reader), target)  # type: ignore[arg-type]
                digest, size = reader.digest(), reader.size
            else:
                # An uncompressed blob is its own tar: its digest is the diff_id.
                diff_id = apply_layer(blob, target)
                digest, size = diff_id, path.stat().st_size
        checked = _Checked(path, diff_id, digest, size, compression)
        _check(layer, checked)
        result.append(checked)

    return apply


def _hashed(path: Path, compression: str) -> _Checked:
    """What a blob hashes to, read without applying it (its layer is held already)."""
    from shocker.store.compression import blob_hashes

    diff_id, digest, size = blob_hashes(path)
    return _Checked(path, diff_id, digest, size, compression)


def _source(layer: LayerToLoad, checked: dict[str, _Checked]) -> tuple[Path, str]:
    """Where a layer's blob is now (spooled, or in the blob store) and its compression."""
    from shocker.store.compression import sniff_compression

    blob = checked.get(layer.member.name)
    if blob is not None:
        return blob.path, blob.compression
    return layer.member.path, sniff_compression(layer.member.path)


def _stage(
    layer: LayerToLoad, blob: BinaryIO, path: Path, compression: str, directory: Path
) -> tuple[StagedLayer, _Checked]:
    """Read, hash and write a layer's files into `directory` (stage_layer) while the layers
    below it are applied; raising unless it checks. Closes `blob`."""
    from shocker.store.compression import HashingReader, open_decompressed
    from shocker.store.unpack import stage_layer

    with blob:
        reader = HashingReader(blob) if compression else blob
        staged = stage_layer(open_decompressed(reader), directory)  # type: ignore[arg-type]
        if isinstance(reader, HashingReader):
            digest, size = reader.digest(), reader.size
        else:
            digest, size = staged.diff_id, os.fstat(blob.fileno()).st_size
    checked = _Checked(path, staged.diff_id, digest, size, compression)
    _check(layer, checked)
    return staged, checked


def _apply(layer_files: StagedLayer, target: Path) -> None:
    from shocker.store.unpack import apply_staged

    apply_staged(layer_files, target)


def _ensure_layers(
    store: Store, plan: ImageToLoad, checked: dict[str, _Checked]
) -> list[dict[str, Any]]:
    """Every layer subvolume of the image (applied and checked, or held already) and its
    blob in the blob store; the image record's layer entries. `checked` remembers the
    archive's blobs read so far (a layer two images share is read once).

    As in a pull, the missing layers above the first are staged in threads (decompressed,
    hashed, their files written) while the ones below are applied; applying a staged layer
    then clones its files.
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    from shocker.oci.chain import chain_ids
    from shocker.store.btrfs import delete_subvolume
    from shocker.store.layers import scratch_path

    chains = chain_ids([layer.diff_id for layer in plan.layers])
    missing = [i for i in range(len(chains)) if not store.layers.has(chains[i])]
    staged: dict[int, Future[tuple[StagedLayer, _Checked]]] = {}
    stages: list[Path] = []
    records = []
    with ThreadPoolExecutor(max_workers=STAGING_THREADS) as pool:
        try:
            for index in missing[1:]:
                path, compression = _source(plan.layers[index], checked)
                stages.append(scratch_path(store.layout, "stage"))
                source = open(path, "rb")  # noqa: SIM115 - the stage closes it
                staged[index] = pool.submit(
                    _stage, plan.layers[index], source, path, compression, stages[-1]
                )
            for index, layer in enumerate(plan.layers):
                parent = chains[index - 1] if index else None
                if index in staged:
                    layer_files, blob = staged[index].result()
                    store.layers.create(
                        chains[index], parent, functools.partial(_apply, layer_files)
                    )
                elif index in missing:
                    path, compression = _source(layer, checked)
                    result: list[_Checked] = []
                    store.layers.create(
                        chains[index], parent, _applier(layer, path, compression, result)
                    )
                    if not result:  # another process made the layer meanwhile
                        result.append(_hashed(path, compression))
                        _check(layer, result[0])
                    blob = result[0]
                else:
                    blob = checked.get(layer.member.name) or _hashed(*_source(layer, checked))
                    _check(layer, blob)
                if blob.path == layer.member.path:
                    if not store.blobs.has(blob.digest, blob.size):
                        store.blobs.commit(blob.digest, blob.path)
                    blob.path = store.blobs.path(blob.digest)
                checked[layer.member.name] = blob
                records.append(
                    {
                        "digest": blob.digest,
                        "size": blob.size,
                        "media_type": _media_type(layer, blob.compression),
                        "diff_id": layer.diff_id,
                        "chain_id": chains[index],
                    }
                )
        finally:
            for future in staged.values():
                future.cancel()
            pool.shutdown(wait=True)
            for stage in stages:
                delete_subvolume(stage)
    return records
