"""The OCI layer between two snapshots of one filesystem: what `commit` and `build` create.

`create_layer(store, parent, child)` walks both trees, writes a gzip'd tar of what the child
added or changed (parent directories included, deletions as `.wh.NAME`, a directory that was
replaced as its new content behind `.wh..wh..opq`), stores it as a verified blob and keeps a
read-only snapshot of the child as the layer subvolume of its chain id, exactly as a pulled
layer is kept. Format: OCI image spec, layer.md ("Representing Changes", "Whiteouts").

btrfs snapshots share inode numbers and timestamps with their source, so an entry whose
inode, size, mode, owner, mtime and ctime match in both trees is unchanged; a directory
whose inode differs was removed and made again (opaque). Entries are sorted, owner names
left empty and the gzip header carries no time, so the same content gives the same bytes;
with SOURCE_DATE_EPOCH every later mtime is clamped to it (as BuildKit's rewrite-timestamp).
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
from pathlib import Path
from typing import BinaryIO

from shocker.errors import StorageError
from shocker.oci.chain import next_chain_id
from shocker.oci.mediatypes import OCI_LAYER_GZIP
from shocker.record import record
from shocker.static import TYPE_CHECKING
from shocker.store.layers import scratch_path
from shocker.store.unpack import OPAQUE_MARKER, WHITEOUT_PREFIX

if TYPE_CHECKING:
    from collections.abc import Iterator

    from shocker.store.store import Store

GZIP_LEVEL = 6  # gzip's default, as Docker's layers
# Kernel-maintained or host-specific attributes that a layer must not carry.
_SKIPPED_XATTRS = ("security.selinux", "system.")


@record(frozen=True)
class LayerDescriptor:
    """One layer of an image: the blob, its uncompressed identity and its chain id."""

    digest: str  # sha256 of the compressed blob (the manifest's layer digest)
    diff_id: str  # sha256 of the uncompressed tar (the config's rootfs.diff_ids entry)
    size: int  # bytes of the compressed blob
    media_type: str
    chain_id: str  # identity of this layer on top of all below it; names its subvolume

    def as_record(self) -> dict[str, object]:
        """The entry of an image record's `layers` list (the shape `pull` writes)."""
        return {
            "digest": self.digest,
            "size": self.size,
            "media_type": self.media_type,
            "diff_id": self.diff_id,
            "chain_id": self.chain_id,
        }


@record(frozen=True)
class Change:
    """One tar entry: a path of the child (relative), or a whiteout/opaque marker."""

    path: str
    whiteout: bool = False


# Mount points the runtime provides in every container: what is there is not the image's.
PROVIDED = frozenset({"etc/hosts", "etc/hostname", "etc/resolv.conf", "dev", "proc", "sys"})


def changes(
    parent: Path | None, child: Path, skipped: frozenset[str] = frozenset()
) -> list[Change]:
    """What turns `parent` into `child`, in tar order (sorted, parents first); `skipped`
    relative paths (and all below them) are left out on both sides."""
    return list(_compare(parent, child, "", skipped))


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (
        a.st_ino == b.st_ino
        and a.st_mode == b.st_mode
        and a.st_size == b.st_size
        and a.st_uid == b.st_uid
        and a.st_gid == b.st_gid
        and a.st_mtime_ns == b.st_mtime_ns
        and a.st_ctime_ns == b.st_ctime_ns
    )


def _listing(directory: Path) -> dict[str, os.stat_result]:
    try:
        with os.scandir(directory) as entries:
            return {e.name: e.stat(follow_symlinks=False) for e in entries}
    except FileNotFoundError:
        return {}


def _join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name


def _compare(
    parent: Path | None, child: Path, prefix: str, skipped: frozenset[str]
) -> Iterator[Change]:
    old = _listing(parent) if parent is not None else {}
    new = _listing(child)
    for name in sorted(old.keys() | new.keys()):
        path = _join(prefix, name)
        if path in skipped:
            continue
        if name not in new:
            yield Change(_join(prefix, WHITEOUT_PREFIX + name), whiteout=True)
            continue
        info = new[name]
        before = old.get(name)
        is_dir = stat.S_ISDIR(info.st_mode)
        if before is None or (is_dir != stat.S_ISDIR(before.st_mode)):
            yield Change(path)
            if is_dir:
                yield from _compare(None, child / name, path, skipped)
        elif is_dir and before.st_ino != info.st_ino:
            # Removed and made again: lower content is hidden, everything here is new.
            yield Change(path)
            yield Change(_join(path, OPAQUE_MARKER), whiteout=True)
            yield from _compare(None, child / name, path, skipped)
        elif is_dir:
            below = list(_compare(parent / name if parent else None, child / name, path, skipped))
            if below or not _same(before, info):
                yield Change(path)  # a changed entry's directory comes with it, as Docker's
            yield from below
        elif not _same(before, info):
            yield Change(path)


class _HashingGzipWriter:
    """File-like sink: hashes the tar (diff_id), gzips it on every core (store/gzipwriter),
    hashes and writes the blob."""

    def __init__(self, out: BinaryIO) -> None:
        from shocker.store.gzipwriter import ParallelGzip

        self.out = out
        self.tar_hash = hashlib.sha256()
        self.blob_hash = hashlib.sha256()
        self.size = 0
        self._compress = ParallelGzip(self._emit, GZIP_LEVEL)

    def write(self, data: bytes) -> int:
        self.tar_hash.update(data)
        self._compress.write(data)
        return len(data)

    def _emit(self, data: bytes) -> None:
        if data:
            self.blob_hash.update(data)
            self.out.write(data)
            self.size += len(data)

    def close(self) -> None:
        self._compress.close()

    def abort(self) -> None:
        self._compress.abort()


def _xattrs(path: Path) -> dict[str, str]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    found: dict[str, str] = {}
    for name in sorted(names):
        if name.startswith(_SKIPPED_XATTRS):
            continue
        try:
            value = os.getxattr(path, name, follow_symlinks=False)
        except OSError:
            continue
        # tarfile writes undecodable PAX values as hdrcharset=BINARY.
        found["SCHILY.xattr." + name] = value.decode("utf-8", "surrogateescape")
    return found


def _tar_info(
    child: Path, change: Change, epoch: int | None, links: dict[tuple[int, int], str]
) -> tuple[tarfile.TarInfo, Path | None]:
    """The header for one change and, for a regular file with data, where its data is."""
    info = tarfile.TarInfo(change.path)
    info.uname = info.gname = ""
    if change.whiteout:
        info.mtime = epoch or 0
        info.mode = 0o644
        return info, None
    source = child / change.path
    st = source.lstat()
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid, info.gid = st.st_uid, st.st_gid
    info.mtime = st.st_mtime_ns // 1_000_000_000
    if epoch is not None and info.mtime > epoch:
        info.mtime = epoch
    info.pax_headers = _xattrs(source)
    data: Path | None = None
    if stat.S_ISREG(st.st_mode):
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in links:
            info.type, info.linkname = tarfile.LNKTYPE, links[key]
        else:
            if st.st_nlink > 1:
                links[key] = change.path
            info.size = st.st_size
            data = source
    elif stat.S_ISDIR(st.st_mode):
        info.type = tarfile.DIRTYPE
    elif stat.S_ISLNK(st.st_mode):
        info.type, info.linkname = tarfile.SYMTYPE, str(source.readlink())
    elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        info.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    elif stat.S_ISFIFO(st.st_mode):
        info.type = tarfile.FIFOTYPE
    else:
        raise StorageError(f"cannot put {source} in a layer: sockets are not layer content")
    return info, data


def write_layer_tar(child: Path, entries: list[Change], out: BinaryIO, epoch: int | None) -> None:
    """The uncompressed tar of `entries` (paths in `child`) into `out`."""
    links: dict[tuple[int, int], str] = {}
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for change in entries:
            info, data = _tar_info(child, change, epoch, links)
            if data is None:
                tar.addfile(info)
                continue
            with open(data, "rb") as file:
                # The size is the lstat's: a file that grew meanwhile is cut, never overrun.
                tar.addfile(info, file)


def _check_written(path: Path, digest: str, size: int) -> None:
    """The blob counts once the file holds every byte hashed into `digest`.

    Not read back and hashed again: the digest is of exactly the bytes written (as a
    pull's digest is of the bytes it wrote), and a second sha256 pass over the blob was a
    third of the hashing a pending layer cost when made (tar, blob, blob again): ~125 ms
    for a 200 MB blob at this machine's 1.6 GB/s (openssl speed -evp sha256).
    """
    if path.stat().st_size != size:
        raise StorageError(f"layer blob {digest[:19]} did not verify after writing")


def create_layer(
    store: Store,
    parent: Path | None,
    parent_chain_id: str | None,
    child: Path,
    epoch: int | None = None,
    skipped: frozenset[str] = frozenset(),
) -> LayerDescriptor:
    """The layer that turns `parent` (a snapshot; None: empty) into `child`.

    `parent_chain_id` is the chain id of the layers `parent` holds (None: no layers). The
    blob lands in the blob store and a read-only snapshot of `child` becomes the layer
    subvolume of the new chain id (kept if it exists); `skipped` paths stay out of the tar
    (pass PROVIDED for a container's filesystem). A crash leaves only scratch files
    under the store's tmp, which the next command sweeps.
    """
    entries = changes(parent, child, skipped)
    scratch = scratch_path(store.layout, "blob")
    try:
        with open(scratch, "wb") as raw:
            sink = _HashingGzipWriter(raw)
            try:
                write_layer_tar(child, entries, sink, epoch)  # type: ignore[arg-type]
            except BaseException:
                sink.abort()
                raise
            sink.close()
        digest = "sha256:" + sink.blob_hash.hexdigest()
        diff_id = "sha256:" + sink.tar_hash.hexdigest()
        _check_written(scratch, digest, sink.size)
        if store.blobs.has(digest, sink.size):
            scratch.unlink()
        else:
            store.blobs.commit(digest, scratch)
    except OSError as error:
        raise StorageError(f"cannot write the layer of {child}: {error.strerror}") from error
    finally:
        scratch.unlink(missing_ok=True)
    chain_id = next_chain_id(parent_chain_id, diff_id)
    store.layers.adopt(chain_id, child)
    return LayerDescriptor(
        digest=digest, diff_id=diff_id, size=sink.size, media_type=OCI_LAYER_GZIP, chain_id=chain_id
    )
