"""Content-addressed compressed blobs (`blobs/sha256/<hex>`), kept byte for byte."""

from __future__ import annotations

import re
from pathlib import Path

from shocker.errors import StorageError
from shocker.store.layout import Layout

# Compiled on first use, not at import (see shocker.store.containers).
_DIGEST = r"sha256:[0-9a-f]{64}"


def check_digest(digest: str) -> str:
    """`digest` if it is a well-formed sha256 digest (it becomes a file name)."""
    if not re.fullmatch(_DIGEST, digest):
        raise StorageError(f"invalid digest {digest!r}")
    return digest


class BlobStore:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def has(self, digest: str, size: int | None = None) -> bool:
        """Whether the blob is stored (with `size` bytes, when given).

        Blobs are renamed into place without an fsync of their own: after a crash, btrfs
        shows a file whose data never reached the disk as shorter than written (its on-disk
        size only covers completed writes), never as other bytes, so a size check finds it.
        """
        try:
            stored = self.path(digest).stat().st_size
        except FileNotFoundError:
            return False
        return size is None or stored == size

    def path(self, digest: str) -> Path:
        return self.layout.blob(check_digest(digest))

    def partial_path(self, digest: str) -> Path:
        """Where a download of `digest` in progress lives; kept across runs for resuming."""
        check_digest(digest)
        partial = self.layout.blobs / "partial" / digest.replace(":", "-")
        partial.parent.mkdir(parents=True, exist_ok=True)
        return partial

    def commit(self, digest: str, partial: Path) -> Path:
        """Move a verified download into place (the caller checked digest and size).

        No fsync: a pull's layers reach the disk with the btrfs snapshots made of them, and
        a blob cut short by a crash fails `has(digest, size)` and is downloaded again.
        """
        final = self.path(digest)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            partial.replace(final)
        except OSError as error:
            raise StorageError(f"cannot store blob {digest}: {error.strerror}") from error
        return final
