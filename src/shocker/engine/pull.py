"""Pull: resolve a reference, download missing blobs in parallel, apply each layer while it
downloads.

Nothing is trusted before its digest checks: a layer is applied from its partial blob as the
bytes arrive, into a scratch subvolume that only becomes the layer once the registry client
has verified the blob's digest and the applied bytes match the config's diff_id; otherwise
the scratch is deleted. The image record is written last (the commit point).
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable

from shocker.errors import RegistryError
from shocker.record import record
from shocker.static import TYPE_CHECKING
from shocker.store.btrfs import delete_subvolume
from shocker.store.layers import scratch_path

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, BinaryIO, Protocol

    from shocker.oci.manifest import Descriptor
    from shocker.oci.platform import Platform
    from shocker.oci.reference import Reference
    from shocker.registry.client import RegistryClient, ResolvedImage, ResolvedManifest
    from shocker.store.images import ImageRecord
    from shocker.store.store import Store
    from shocker.store.unpack import StagedLayer

PARALLEL_DOWNLOADS = 4
READ_SIZE = 1 << 20


if TYPE_CHECKING:
    # Only for the type checker: typing.Protocol would cost the typing import.
    class PullReporter(Protocol):
        def layer_started(self, digest: str, size: int) -> None: ...

        def layer_progress(self, digest: str, nbytes: int) -> None: ...

        def layer_done(self, digest: str) -> None: ...

        def finish(self) -> None: ...


@record(frozen=True)
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
    found = client.resolve_manifest(ref, platform)
    name = ref.familiar()
    existing = store.images.find_by_digest(found.manifest_digest, name)
    if existing is not None:
        return PullResult(existing, created=False)
    from shocker.store.gc import creating

    with creating(store.layout):  # no sweep between the layers and the record naming them
        try:
            resolved, top, take = ensure_layers(store, client, found, reporter)
        finally:
            reporter.finish()
        image = store.images.add(
            rootfs_from=top,
            take_rootfs=take,
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
    # Where each blob came from: a push to the same registry mounts it from there.
    repository = f"{resolved.reference.registry}/{resolved.reference.repository}"
    return [
        {
            "digest": layer.digest,
            "size": layer.size,
            "media_type": layer.media_type,
            "diff_id": diff_id,
            "chain_id": chain,
            "repository": repository,
        }
        for layer, diff_id, chain in zip(resolved.manifest.layers, diff_ids, chains, strict=True)
    ]


class _Task:
    """A call in a thread of its own, run once one of `slots` is free; result() waits for it.

    Not concurrent.futures: importing it imports logging too, ~6 ms of every pull.
    """

    def __init__(self, slots: threading.Semaphore, function: Callable[..., Any], *args: Any):
        self._cancelled = False
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(slots, function, args))
        self._thread.start()

    def _run(self, slots: threading.Semaphore, function: Callable[..., Any], args: Any) -> None:
        with slots:
            if self._cancelled:
                return
            try:
                self._value = function(*args)
            except BaseException as error:  # handed to whoever asks for the result
                self._error = error

    def cancel(self) -> None:
        """Do not start the call if it has not started yet."""
        self._cancelled = True

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value

    def join(self) -> None:
        self._thread.join()


class _Interrupted(Exception):
    """A streamed apply saw bytes that may not be the blob's (the download started over)."""


class _Feed:
    """The partial file of one download, as far as the registry client has written it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None
        self.size = 0
        self.rewound = False
        self.finished = False  # the download returned or raised
        self.verified = False  # ... and the blob's size and digest checked
        self.error: BaseException | None = None


class _Downloads:
    """Feeds of a pull's downloads and one condition signalling any change in any of them."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.feeds: dict[int, _Feed] = {}
        self.error: BaseException | None = None  # the first failure: every reader stops

    def advance(self, feed: _Feed, nbytes: int) -> None:
        with self.changed:
            if feed.fd is None:
                # Opened once bytes exist: the same inode the client writes, whatever name
                # the blob has by the time a reader gets to it.
                feed.fd = os.open(feed.path, os.O_RDONLY | os.O_CLOEXEC)
            feed.size += nbytes
            self.changed.notify_all()

    def rewind(self, feed: _Feed) -> None:
        with self.changed:
            feed.rewound = True
            self.changed.notify_all()

    def finish(self, feed: _Feed, error: BaseException | None) -> None:
        with self.changed:
            feed.finished = True
            feed.verified = error is None
            feed.error = error
            if error is not None and self.error is None:
                self.error = error
            self.changed.notify_all()

    def abort(self, error: BaseException) -> None:
        with self.changed:
            if self.error is None:
                self.error = error
            self.changed.notify_all()

    def wait_verified(self, feed: _Feed) -> None:
        """Return once the blob checked; raise its download's failure (or the pull's)."""
        with self.changed:
            while not feed.finished and self.error is None:
                self.changed.wait()
            failure = feed.error or self.error
        if failure is not None:
            raise failure

    def close(self) -> None:
        for feed in self.feeds.values():
            if feed.fd is not None:
                os.close(feed.fd)
                feed.fd = None


class _FeedReader(io.RawIOBase):
    """Reads a feed from its first byte, waiting for the download when it catches up."""

    def __init__(self, downloads: _Downloads, feed: _Feed) -> None:
        self._downloads = downloads
        self._feed = feed
        self._pos = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        limit = READ_SIZE if size is None or size < 0 else size
        feed, changed = self._feed, self._downloads.changed
        with changed:
            while (
                self._pos >= feed.size
                and not feed.finished
                and not feed.rewound
                and self._downloads.error is None
            ):
                changed.wait()
            if feed.rewound or self._downloads.error is not None:
                raise _Interrupted
            available = feed.size - self._pos
            fd = feed.fd
        if available <= 0 or fd is None:
            return b""
        data = os.pread(fd, min(limit, available), self._pos)
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def ensure_layers(
    store: Store, client: RegistryClient, found: ResolvedManifest, reporter: PullReporter
) -> tuple[ResolvedImage, Path | None, bool]:
    """Fetch the image's config and make every layer subvolume of the image exist; return
    the image, the root filesystem for it (None: no layers) and whether that is a writable
    subvolume to take (a copy of the top layer made here) rather than the top layer."""
    from shocker.oci.chain import chain_ids

    layers = found.manifest.layers
    downloads = _Downloads()
    futures: dict[int, _Task] = {}
    staged: dict[int, _Task] = {}
    stages: list[Path] = []
    download_slots = threading.Semaphore(PARALLEL_DOWNLOADS)
    stage_slots = threading.Semaphore(PARALLEL_DOWNLOADS)
    rootfs: Path | None = None
    try:
        # Every blob not held starts downloading before the config is asked for: the
        # config's round trip overlaps the transfer instead of preceding it (the pull of
        # one new 10 MB layer onto three held ones, 10 interleaved runs on this project's
        # 2-core machine under a load of ~20: fastest 295 -> 236 ms, median 607 -> 436).
        # A held layer whose blob was removed is the rare blob fetched without need.
        for i, blob in enumerate(layers):
            if not store.blobs.has(blob.digest, blob.size):
                new = downloads.feeds[i] = _Feed(store.blobs.partial_path(blob.digest))
                reporter.layer_started(blob.digest, blob.size)
                futures[i] = _Task(
                    download_slots, _download, store, client, found.reference, blob,
                    reporter, downloads, new,
                )  # fmt: skip
        threading.Thread(target=_preload, name="preload", daemon=True).start()
        resolved = client.fetch_config(found)
        diff_ids = resolved.config.diff_ids
        if len(layers) != len(diff_ids):
            raise RegistryError(
                f"image {resolved.reference.familiar()} is invalid: "
                f"{len(layers)} layers but {len(diff_ids)} diff_ids in its config"
            )
        if not layers:
            return resolved, None, False
        chains = chain_ids(diff_ids)
        # Layers below the first missing chain exist already; everything above is applied.
        first_missing = next((i for i, c in enumerate(chains) if not store.layers.has(c)), None)
        todo = list(range(len(layers) if first_missing is None else first_missing, len(layers)))
        for i, future in futures.items():
            if i not in todo:
                future.cancel()  # below the first missing layer: not needed after all
        if not todo:
            for future in futures.values():
                future.result()
            return resolved, store.layers.path(chains[-1]), False
        # The layers above the first are read, hashed and their files written while the
        # downloads go on; applying one then only waits for the layer below it.
        for i in todo[1:]:
            stages.append(scratch_path(store.layout, "stage"))
            staged[i] = _Task(
                stage_slots, _stage, store, downloads, i, futures.get(i), layers[i], diff_ids[i],
                stages[-1],
            )  # fmt: skip

        # Every layer is applied onto one writable subvolume in turn, each made a layer by
        # a read-only snapshot of it; after the top layer it is the image's root filesystem.
        rootfs = store.layers.scratch(chains[todo[0] - 1] if todo[0] else None)
        for i in todo:
            feed = downloads.feeds.get(i)
            if i in staged:
                rootfs = store.layers.extend(chains[i], rootfs, _from_stage(staged[i].result()))
            elif feed is None:
                rootfs = store.layers.extend(
                    chains[i], rootfs, _stored(store, layers[i], diff_ids[i])
                )
                continue
            else:
                try:
                    rootfs = store.layers.extend(
                        chains[i], rootfs, _streamed(downloads, feed, layers[i], diff_ids[i])
                    )
                except _Interrupted:
                    # What was applied may differ from the blob: apply the verified copy.
                    futures[i].result()
                    rootfs = store.layers.scratch(chains[i - 1] if i else None)
                    rootfs = store.layers.extend(
                        chains[i], rootfs, _stored(store, layers[i], diff_ids[i])
                    )
            if feed is not None:
                reporter.layer_done(layers[i].digest)
        for future in futures.values():
            future.result()  # the blobs are in the store too
    except BaseException as exc:
        if rootfs is not None:
            delete_subvolume(rootfs)
        downloads.abort(exc)
        for future in futures.values():
            future.cancel()
        for pending in staged.values():
            pending.cancel()
        raise
    finally:
        for task in [*futures.values(), *staged.values()]:
            task.join()
        downloads.close()
        if stages:
            from shocker.store.unpack import discard_stage

            for stage in stages:
                discard_stage(stage)
    return resolved, rootfs, True


# What applying a layer imports (decompression, the tar reader, the applier and the ctypes
# binding of sync_file_range): ~3 ms of imports (python -X importtime), loaded once the
# downloads are under way, while the main thread waits for the config and for the snapshot
# the first layer is applied onto, not after them (traced: ctypes was loaded in the middle
# of the first layer's apply).
_APPLY_MODULES = ("shocker.store.compression", "shocker.store.unpack", "shocker.linux.syscalls")


def _preload() -> None:
    import importlib

    for module in _APPLY_MODULES:
        importlib.import_module(module)


def _stage(
    store: Store,
    downloads: _Downloads,
    index: int,
    download: _Task | None,
    layer: Descriptor,
    diff_id: str,
    directory: Path,
) -> StagedLayer:
    """Stage a layer from its download as it arrives (or from its blob, held or verified);
    raising unless the blob and the staged bytes check."""
    from shocker.store.compression import open_decompressed
    from shocker.store.unpack import discard_stage, stage_layer

    feed = downloads.feeds.get(index)
    if feed is not None:
        try:
            reader: BinaryIO = _FeedReader(downloads, feed)  # type: ignore[assignment]
            result = stage_layer(open_decompressed(reader), directory)
        except _Interrupted:
            downloads.wait_verified(feed)  # a failed download is the error to report
        except Exception:
            downloads.wait_verified(feed)  # corrupt because the download failed? say so
            if not feed.rewound:
                raise
        else:
            downloads.wait_verified(feed)
            if not feed.rewound:
                _check_diff_id(layer, diff_id, result.diff_id)
                return result
        # The download started over: what was staged may differ from the verified blob.
        assert download is not None
        download.result()
        discard_stage(directory)
    with open(store.blobs.path(layer.digest), "rb") as blob:
        result = stage_layer(open_decompressed(blob), directory)
    _check_diff_id(layer, diff_id, result.diff_id)
    return result


def _from_stage(layer: StagedLayer) -> Callable[[Path], None]:
    def apply(target: Path) -> None:
        from shocker.store.unpack import apply_staged

        apply_staged(layer, target)

    return apply


def _download(
    store: Store,
    client: RegistryClient,
    ref: Reference,
    layer: Descriptor,
    reporter: PullReporter,
    downloads: _Downloads,
    feed: _Feed,
) -> None:
    if downloads.error is not None:
        return

    def progress(nbytes: int) -> None:
        downloads.advance(feed, nbytes)
        reporter.layer_progress(layer.digest, nbytes)

    try:
        client.fetch_blob(ref, layer, feed.path, progress, lambda: downloads.rewind(feed))
    except BaseException as exc:
        downloads.finish(feed, exc)
        raise
    downloads.finish(feed, None)
    store.blobs.commit(layer.digest, feed.path)


def _check_diff_id(layer: Descriptor, diff_id: str, actual: str) -> None:
    if actual != diff_id:
        raise RegistryError(
            f"layer {layer.digest[:19]} does not match its diff_id "
            f"(expected {diff_id[:19]}, got {actual[:19]})"
        )


def _streamed(
    downloads: _Downloads, feed: _Feed, layer: Descriptor, diff_id: str
) -> Callable[[Path], None]:
    """Apply while the blob downloads; raising (so the scratch goes) unless the blob checks."""

    def apply(target: Path) -> None:
        from shocker.store.compression import open_decompressed
        from shocker.store.unpack import apply_layer

        try:
            reader: BinaryIO = _FeedReader(downloads, feed)  # type: ignore[assignment]
            actual = apply_layer(open_decompressed(reader), target)
        except _Interrupted:
            downloads.wait_verified(feed)  # a failed download is the error to report
            raise
        except Exception:
            downloads.wait_verified(feed)  # corrupt because the download failed? say so
            if feed.rewound:
                raise _Interrupted from None
            raise
        downloads.wait_verified(feed)
        if feed.rewound:
            raise _Interrupted
        _check_diff_id(layer, diff_id, actual)

    return apply


def _stored(store: Store, layer: Descriptor, diff_id: str) -> Callable[[Path], None]:
    def apply(target: Path) -> None:
        from shocker.store.compression import open_decompressed
        from shocker.store.unpack import apply_layer

        with open(store.blobs.path(layer.digest), "rb") as blob:
            actual = apply_layer(open_decompressed(blob), target)
        _check_diff_id(layer, diff_id, actual)

    return apply
