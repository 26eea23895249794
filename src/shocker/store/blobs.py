"""Content-addressed compressed blobs (`blobs/sha256/<hex>`), kept byte for byte."""

from __future__ import annotations

import os
import re
from pathlib import Path

from shocker.errors import StorageError
from shocker.store.layout import Layout

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def check_digest(digest: str) -> str:
    """`digest` if it is a well-formed sha256 digest (it becomes a file name)."""
    if not _DIGEST.match(digest):
        raise StorageError(f"invalid digest {digest!r}")
    return digest


class BlobStore:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def has(self, digest: str) -> bool:
        return self.path(digest).exists()

    def path(self, digest: str) -> Path:
        return self.layout.blob(check_digest(digest))

    def partial_path(self, digest: str) -> Path:
        """Where a download of `digest` in progress lives; kept across runs for resuming."""
        check_digest(digest)
        partial = self.layout.blobs / "partial" / digest.replace(":", "-")
        partial.parent.mkdir(parents=True, exist_ok=True)
        return partial

    def commit(self, digest: str, partial: Path) -> Path:
        """Move a verified download into place (the caller checked digest and size)."""
        final = self.path(digest)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(partial, "rb") as file:
                os.fsync(file.fileno())
            partial.replace(final)
        except OSError as error:
            raise StorageError(f"cannot store blob {digest}: {error.strerror}") from error
        return final
