"""Images: a root filesystem subvolume `ROOT/img-xxxxx` and a JSON record, written last."""

from __future__ import annotations

from contextlib import AbstractContextManager
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
from shocker.store.records import by_id_prefix, from_dict, now, record_files

if TYPE_CHECKING:
    from typing import Any


@record()
class ImageRecord:
    id: str
    reference: str | None  # familiar name ("busybox:latest"); None once the name moved on
    repository_digest: str | None  # the manifest digest it was pulled as
    config: dict[str, Any]  # the image config JSON
    layers: list[dict[str, Any]]  # {"digest", "size", "media_type", "diff_id", "chain_id"}
    created: str  # RFC 3339
    source: str  # "pull" | "init" | "commit"
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """What `images --format json` shows."""
        return {
            "id": self.id,
            "reference": self.reference,
            "repository_digest": self.repository_digest,
            "created": self.created,
            "source": self.source,
            "size": sum(int(layer.get("size", 0)) for layer in self.layers),
        }


class ImageStore:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def _ids_lock(self) -> AbstractContextManager[None]:
        return file_lock(self.layout.lock("ids"))

    def _taken(self, image_id: str) -> bool:
        return (
            self.layout.image_record(image_id).exists()
            or self.layout.image_rootfs(image_id).is_symlink()
            or self.layout.image_rootfs(image_id).exists()
        )

    def _write(self, record: ImageRecord) -> None:
        write_json_atomic(self.layout.image_record(record.id), asdict(record))

    def add(
        self,
        *,
        rootfs_from: Path | None,
        reference: str | None,
        config: dict[str, Any],
        source: str,
        repository_digest: str | None = None,
        layers: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
        take_rootfs: bool = False,
    ) -> ImageRecord:
        """A new image whose root filesystem is a snapshot of `rootfs_from`.

        `rootfs_from` None means an empty filesystem; with `take_rootfs` the subvolume is
        moved in instead of snapshotted. The record is written last: it is the commit point.
        `reference` moves here from any image holding it (that one keeps its id, untagged).
        """
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
                    reference=reference,
                    repository_digest=repository_digest,
                    config=config,
                    layers=list(layers or []),
                    created=now(),
                    source=source,
                    extra=dict(extra or {}),
                )
                self._write(record)
                if reference is not None:
                    self._untag_others(image_id, reference)
        except BaseException:
            if not self.layout.image_record(scratch.name).exists():
                btrfs.delete_subvolume(scratch)
            raise
        return record

    def _untag_others(self, image_id: str, reference: str) -> None:
        wanted = normalize(reference)
        for other in self.list():
            if other.id != image_id and other.reference and normalize(other.reference) == wanted:
                other.reference = None
                self._write(other)

    def tag(self, image_id: str, reference: str) -> ImageRecord:
        """Give `reference` to `image_id`, taking it from any other image."""
        with self._ids_lock():
            record = self.get(image_id)
            record.reference = reference
            self._write(record)
            self._untag_others(image_id, reference)
        return record

    def list(self) -> list[ImageRecord]:
        records = []
        for path in record_files(self.layout.images):
            try:
                records.append(from_dict(ImageRecord, read_json(path)))
            except (FileNotFoundError, StorageError, TypeError):
                continue  # removed meanwhile, or not a committed record
        return records

    def get(self, image_id: str) -> ImageRecord:
        if "/" in image_id or image_id.startswith("."):
            raise NotFound(f"No image named '{image_id}' exists")
        try:
            return from_dict(ImageRecord, read_json(self.layout.image_record(image_id)))
        except FileNotFoundError:
            raise NotFound(f"No image named '{image_id}' exists") from None

    def resolve(self, text: str) -> ImageRecord:
        """An image by id, `name[:tag]`, `name@digest`, or a unique id prefix."""
        if text.startswith("img-") and self.layout.image_record(text).exists():
            return self.get(text)
        records = self.list()
        named = _by_name(records, text)
        if named is not None:
            return named
        match = by_id_prefix(records, text, "img", "images")
        if match is not None:
            return match
        raise NotFound(f"No image named '{text}' exists")

    def find_by_digest(self, repository_digest: str, reference: str) -> ImageRecord | None:
        """The newest image pulled as `repository_digest` that still carries `reference`."""
        wanted = normalize(reference)
        matches = [
            r
            for r in self.list()
            if r.repository_digest == repository_digest
            and r.reference
            and normalize(r.reference) == wanted
        ]
        return max(matches, key=lambda r: r.created) if matches else None

    def remove(self, image_id: str) -> None:
        """The record first (never listed half-removed), then the root filesystem."""
        with self._ids_lock():
            self.get(image_id)
            self.layout.image_record(image_id).unlink(missing_ok=True)
        btrfs.delete_subvolume(self.layout.image_rootfs(image_id))

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


def _by_name(records: list[ImageRecord], text: str) -> ImageRecord | None:
    """Exact name match (newest wins), else a unique match ignoring the registry host."""
    try:
        wanted = normalize(text)
    except ValueError:
        return None
    tagged = [r for r in records if r.reference]
    if "@" in wanted:
        repository, digest = split_name(text)
        loose_ok = not has_registry_host(repository)
        exact = [
            r
            for r in tagged
            if r.repository_digest == digest[1:]
            and (
                split_name(r.reference or "")[0] == repository
                or (
                    loose_ok
                    and split_name(without_registry_host(r.reference or ""))[0] == repository
                )
            )
        ]
    else:
        exact = [r for r in tagged if normalize(r.reference or "") == wanted]
    if exact:
        return max(exact, key=lambda r: r.created)
    if has_registry_host(split_name(text)[0]):
        return None
    loose = [r for r in tagged if without_registry_host(r.reference or "") == wanted]
    if len(loose) == 1:
        return loose[0]
    if loose:
        names = ", ".join(sorted(r.reference or "" for r in loose))
        raise UsageError(f"'{text}' matches several images: {names}")
    return None
