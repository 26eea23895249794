"""Images: a root filesystem subvolume `ROOT/img-xxxxx` and a JSON record, written last.

An image's names live in one index beside the records (store/tags.py): that module's
docstring lists the calls that give, move and take names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from shocker.errors import NotFound, StorageError, UsageError
from shocker.record import asdict, field, record
from shocker.static import TYPE_CHECKING
from shocker.store import btrfs
from shocker.store.atomic import file_lock, move, read_json, write_json_atomic
from shocker.store.ids import new_id
from shocker.store.layers import scratch_path
from shocker.store.layout import Layout
from shocker.store.names import has_registry_host, normalize, split_name, without_registry_host
from shocker.store.pending import is_pending, layer_id, made_diff_ids
from shocker.store.records import by_id_prefix, from_dict, now, record_files
from shocker.store.tags import NameIndex

if TYPE_CHECKING:
    from contextlib import AbstractContextManager
    from typing import Any


@record()
class ImageRecord:
    id: str
    repository_digest: str | None  # the manifest digest it was pulled as
    config: dict[str, Any]  # the image config JSON
    # {"digest", "size", "media_type", "diff_id", "chain_id"}, and "repository"
    # (`host/path`) for a layer pulled from a registry: where a push can mount it from.
    layers: list[dict[str, Any]]
    created: str  # RFC 3339
    source: str  # "pull" | "init" | "commit" | ...
    extra: dict[str, Any] = field(default_factory=dict)
    # The names it holds, oldest first; filled from the names index, not stored in the record.
    names: list[str] = field(default_factory=list)

    @property
    def reference(self) -> str | None:
        """Its first name, or None when it holds none."""
        return self.names[0] if self.names else None

    @property
    def chain_ids(self) -> list[str]:
        """The layer subvolumes this image needs kept (store/gc.py), pending ones included."""
        return [
            layer_id(layer) for layer in self.layers if layer.get("chain_id") or is_pending(layer)
        ]

    @property
    def pending_keys(self) -> list[str]:
        """Its layers that commit recorded and nothing has made yet (store/pending.py)."""
        return [str(layer["pending"]) for layer in self.layers if is_pending(layer)]

    @property
    def blob_digests(self) -> list[str]:
        """The blobs this image needs kept (store/gc.py)."""
        return [str(layer["digest"]) for layer in self.layers if layer.get("digest")]

    def summary(self) -> dict[str, Any]:
        """What `images --format json` shows."""
        return {
            "id": self.id,
            "reference": self.reference,
            "names": list(self.names),
            "repository_digest": self.repository_digest,
            "created": self.created,
            "source": self.source,
            "size": sum(int(layer.get("size", 0)) for layer in self.layers),
        }


@record(frozen=True)
class RemovedName:
    """What `remove_name` did: the name as it was held, and whether its image went too."""

    name: str
    image_id: str
    image_removed: bool


class ImageStore:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    @property
    def names_path(self) -> Path:
        return self.layout.meta / "names.json"

    def _ids_lock(self) -> AbstractContextManager[None]:
        return file_lock(self.layout.lock("ids"))

    def _taken(self, image_id: str) -> bool:
        return (
            self.layout.image_record(image_id).exists()
            or self.layout.image_rootfs(image_id).is_symlink()
            or self.layout.image_rootfs(image_id).exists()
        )

    def _write(self, record: ImageRecord) -> None:
        data = asdict(record)
        del data["names"]  # the names index is their one home
        write_json_atomic(self.layout.image_record(record.id), data)

    def _index(self) -> NameIndex:
        """The names index; built from older records' single `reference` when there is none."""
        index = NameIndex.read(self.names_path)
        if index is not None:
            return index
        index = NameIndex(self.names_path, {})
        legacy = []
        for path in record_files(self.layout.images):
            try:
                data = read_json(path)
            except (FileNotFoundError, StorageError):
                continue
            if isinstance(data, dict) and isinstance(data.get("reference"), str):
                legacy.append((str(data.get("created", "")), data["reference"], path.stem))
        for created, name, image_id in sorted(legacy):  # the newest holder wins, as it did
            try:
                index.assign(image_id, name)
            except ValueError:
                continue
            index.entries[normalize(name)].at = created
        return index

    def _assign(self, image_id: str, names: Iterable[str]) -> None:
        """Give `names` to `image_id` in one write of the index (caller holds the ids lock)."""
        index = self._index()
        for name in names:
            index.assign(image_id, name)
        index.write()

    def add(
        self,
        *,
        rootfs_from: Path | None,
        config: dict[str, Any],
        source: str,
        reference: str | None = None,
        names: Iterable[str] = (),
        repository_digest: str | None = None,
        layers: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
        take_rootfs: bool = False,
    ) -> ImageRecord:
        """A new image whose root filesystem is a snapshot of `rootfs_from`.

        `rootfs_from` None means an empty filesystem; with `take_rootfs` the subvolume is
        moved in instead of snapshotted. The record is written last: it is the commit point;
        then `reference` and `names` (familiar names, `NAME:TAG`) move to it from any image
        holding them (those keep their ids and their other names) in one index write.
        """
        wanted = ([reference] if reference is not None else []) + list(names)
        if take_rootfs and rootfs_from is not None:
            scratch = rootfs_from
        else:
            scratch = scratch_path(self.layout, "img")
            if rootfs_from is None:
                btrfs.create_subvolume(scratch)
            else:
                btrfs.snapshot(rootfs_from, scratch)
        try:
            with self._ids_lock():
                image_id = new_id("img", self._taken)
                rootfs = self.layout.image_rootfs(image_id)
                move(scratch, rootfs)
                scratch = rootfs
                record = ImageRecord(
                    id=image_id,
                    repository_digest=repository_digest,
                    config=config,
                    layers=list(layers or []),
                    created=now(),
                    source=source,
                    extra=dict(extra or {}),
                )
                self._write(record)
                if wanted:
                    self._assign(image_id, wanted)
                    record.names = self._index().by_image().get(image_id, [])
        except BaseException:
            if not self.layout.image_record(scratch.name).exists():
                btrfs.delete_subvolume(scratch)
            raise
        return record

    def tag(self, image_id: str, *names: str) -> ImageRecord:
        """Give `names` to `image_id`, taking each from any other image (one atomic step)."""
        with self._ids_lock():
            self.get(image_id)
            self._assign(image_id, names)
            return self.get(image_id)

    def untag(self, name: str) -> ImageRecord:
        """Take `name` from the image holding it; that image (which stays) after the change."""
        with self._ids_lock():
            index = self._index()
            entry = index.drop(name)
            if entry is None:
                raise NotFound(f"No image named '{name}' exists")
            index.write()
            return self.get(entry.image)

    def remove_name(
        self, text: str, check: Callable[[ImageRecord], None] | None = None
    ) -> RemovedName | None:
        """`rmi NAME`: the name `text` resolves to goes, and its image too when it held no
        other. None when `text` is not one of the names (an id, or an id prefix).

        `check` may refuse (raise) the image's removal, as for `remove`: then nothing changes.
        """
        with self._ids_lock():
            index = self._index()
            match = _by_name(self._records(index), text)
            if match is None:
                return None
            image, name = match
            index.drop(name)
            left = index.by_image().get(image.id, [])
            if left:
                index.write()
                return RemovedName(name=name, image_id=image.id, image_removed=False)
            if check is not None:
                check(image)
            self._remove_locked(image.id, index)
        btrfs.delete_subvolume(self.layout.image_rootfs(image.id))
        return RemovedName(name=name, image_id=image.id, image_removed=True)

    def _records(self, index: NameIndex | None = None) -> list[ImageRecord]:
        held = (index or self._index()).by_image()
        records = []
        for path in record_files(self.layout.images):
            try:
                image = from_dict(ImageRecord, read_json(path))
            except (FileNotFoundError, StorageError, TypeError):
                continue  # removed meanwhile, or not a committed record
            image.names = held.get(image.id, [])
            records.append(image)
        return records

    def list(self) -> list[ImageRecord]:
        return self._records()

    def get(self, image_id: str) -> ImageRecord:
        if "/" in image_id or image_id.startswith("."):
            raise NotFound(f"No image named '{image_id}' exists")
        try:
            image = from_dict(ImageRecord, read_json(self.layout.image_record(image_id)))
        except FileNotFoundError:
            raise NotFound(f"No image named '{image_id}' exists") from None
        image.names = self._index().by_image().get(image_id, [])
        return image

    def resolve(self, text: str) -> ImageRecord:
        """An image by id, `name[:tag]`, `name@digest`, or a unique id prefix."""
        if text.startswith("img-") and self.layout.image_record(text).exists():
            return self.get(text)
        records = self.list()
        named = _by_name(records, text)
        if named is not None:
            return named[0]
        match = by_id_prefix(records, text, "img", "images")
        if match is not None:
            return match
        raise NotFound(f"No image named '{text}' exists")

    def find_by_digest(self, repository_digest: str, reference: str) -> ImageRecord | None:
        """The image pulled as `repository_digest` that holds the name `reference`."""
        wanted = normalize(reference)
        for image in self.list():
            if image.repository_digest == repository_digest and any(
                normalize(name) == wanted for name in image.names
            ):
                return image
        return None

    def remove(self, image_id: str, check: Callable[[ImageRecord], None] | None = None) -> None:
        """Its names and record first (never listed half-removed), then the root filesystem.

        `check` may refuse (raise) under the lock that container creation takes too, so no
        container can be made from the image between the check and the removal.
        """
        with self._ids_lock():
            record = self.get(image_id)
            if check is not None:
                check(record)
            self._remove_locked(image_id, self._index())
        btrfs.delete_subvolume(self.layout.image_rootfs(image_id))

    def _remove_locked(self, image_id: str, index: NameIndex) -> None:
        index.drop_image(image_id)
        index.write()
        self.layout.image_record(image_id).unlink(missing_ok=True)

    def set_layers(
        self, image_id: str, created: str, layers: Iterable[dict[str, Any]], config: dict[str, Any]
    ) -> ImageRecord:
        """Record the layers an image's filesystem was found to be (and the config naming
        them), unless the image changed since `created` (StorageError: try again)."""
        with self._ids_lock():
            record = self.get(image_id)
            if record.created != created:
                raise StorageError(f"image {image_id} changed meanwhile: try again")
            record.layers, record.config = list(layers), config
            self._write(record)
        return record

    def settle_pending(self, key: str, layer: dict[str, Any]) -> None:
        """Every image naming pending layer `key` names the made `layer` instead, and its
        config's rootfs.diff_ids gains the layer's diff_id (one atomic write per record)."""
        with self._ids_lock():
            for path in record_files(self.layout.images):
                try:
                    image = from_dict(ImageRecord, read_json(path))
                except (FileNotFoundError, StorageError, TypeError):
                    continue
                if key not in image.pending_keys:
                    continue
                image.layers = [
                    dict(layer) if entry.get("pending") == key else entry for entry in image.layers
                ]
                rootfs = {"type": "layers", "diff_ids": made_diff_ids(image.layers)}
                image.config = {**image.config, "rootfs": rootfs}
                self._write(image)

    def replace_rootfs(
        self, image_id: str, source: Path, config: dict[str, Any] | None = None
    ) -> None:
        """Give image `image_id` the content of `source` (same id, new filesystem)."""
        scratch = scratch_path(self.layout, "img")
        btrfs.snapshot(source, scratch)
        retired = scratch_path(self.layout, "old")
        try:
            with self._ids_lock():
                record = self.get(image_id)
                rootfs = self.layout.image_rootfs(image_id)
                if rootfs.exists():
                    move(rootfs, retired)
                try:
                    move(scratch, rootfs)
                except StorageError:
                    if retired.exists():
                        move(retired, rootfs)
                    raise
                if config is not None:
                    record.config = config
                record.layers, record.repository_digest = [], None
                record.source, record.created = "commit", now()
                self._write(record)
        finally:
            btrfs.delete_subvolume(scratch)
            btrfs.delete_subvolume(retired)


def _by_name(records: list[ImageRecord], text: str) -> tuple[ImageRecord, str] | None:
    """The image holding the name `text`, and that name as held: an exact match, else a unique
    match ignoring the registry host (`team/app:1` for `127.0.0.1:5000/team/app:1`)."""
    try:
        wanted = normalize(text)
    except ValueError:
        return None
    held = [(r, name) for r in records for name in r.names]
    if "@" in wanted:
        repository, digest = split_name(text)
        loose_ok = not has_registry_host(repository)
        exact = [
            (r, name)
            for r, name in held
            if r.repository_digest == digest[1:]
            and (
                split_name(name)[0] == repository
                or (loose_ok and split_name(without_registry_host(name))[0] == repository)
            )
        ]
        if exact:
            return max(exact, key=lambda pair: pair[0].created)
    else:
        for r, name in held:
            if normalize(name) == wanted:
                return r, name
    if has_registry_host(split_name(text)[0]):
        return None
    loose = [(r, name) for r, name in held if without_registry_host(name) == wanted]
    if len(loose) == 1:
        return loose[0]
    if loose:
        names = ", ".join(sorted(name for _, name in loose))
        raise UsageError(f"'{text}' matches several images: {names}")
    return None
