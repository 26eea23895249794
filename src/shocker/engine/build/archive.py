"""ADD's local archives: a tar (plain, gzip, bzip2, xz or zstd) is unpacked into the
destination with the layer applier's containment (store/unpack.py), not copied."""

from __future__ import annotations

import bz2
import lzma
import os
from pathlib import Path
from typing import BinaryIO

from shocker.errors import BuildError, StorageError
from shocker.linux import inroot

_TAR_MAGIC_OFFSET = 257


def _open(path: Path) -> BinaryIO:
    from shocker.store.compression import open_decompressed

    raw = open(path, "rb")  # noqa: SIM115 (the stream returned owns it)
    head = raw.read(6)
    raw.seek(0)
    if head.startswith(b"BZh"):
        return bz2.open(raw)  # type: ignore[return-value]
    if head.startswith(b"\xfd7zXZ\x00"):
        return lzma.open(raw)  # type: ignore[return-value]
    return open_decompressed(raw)


def is_archive(path: Path) -> bool:
    """A tar archive, maybe compressed (recognised by content, as Docker does)."""
    try:
        with _open(path) as stream:
            block = stream.read(512)
    except (OSError, EOFError, StorageError, lzma.LZMAError):
        return False
    return len(block) >= 262 and block[_TAR_MAGIC_OFFSET : _TAR_MAGIC_OFFSET + 5] == b"ustar"


def unpack(root: Path, archive: Path, dest: str) -> None:
    from shocker.store.unpack import apply_layer

    root_fd = inroot.open_root(str(root))
    try:
        target = inroot.open_in_root(root_fd, dest, create="dir")
    except OSError as error:
        raise BuildError(f"cannot create {dest}: {error.strerror}") from None
    finally:
        os.close(root_fd)
    try:
        # The directory's host path, resolved inside the root just now: the step's scratch
        # snapshot is this process's alone, so nothing can swap it meanwhile.
        directory = Path(inroot.fd_path(target)).readlink()
        with _open(archive) as stream:
            apply_layer(stream, directory)
    except (StorageError, OSError, EOFError, lzma.LZMAError) as error:
        raise BuildError(f"cannot unpack {archive.name}: {error}") from None
    finally:
        os.close(target)
