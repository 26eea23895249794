"""The archive tar writer: what tarfile reads back, headers patched on seekable outputs."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from shocker.errors import StorageError
from shocker.store.tarwriter import RECORD, TarWriter


def test_members_of_every_kind_read_back_with_tarfile(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(os.urandom(5000))
    out = tmp_path / "out.tar"
    with open(out, "wb") as file:
        writer = TarWriter(file.fileno())
        writer.add_directory("blobs")
        writer.add_bytes("manifest.json", b"[]")
        writer.add_file("blobs/layer", str(blob))
        writer.add_stream("streamed", iter([b"ab", b"cde"]))  # size patched afterwards
        writer.add_stream("sized", iter([b"xyz"]), 3)
        writer.close()

    assert out.stat().st_size % RECORD == 0
    with tarfile.open(out) as tar:
        assert tar.getnames() == ["blobs", "manifest.json", "blobs/layer", "streamed", "sized"]
        assert tar.extractfile("blobs/layer").read() == blob.read_bytes()  # type: ignore[union-attr]
        assert tar.extractfile("streamed").read() == b"abcde"  # type: ignore[union-attr]
        assert tar.extractfile("sized").read() == b"xyz"  # type: ignore[union-attr]


def test_a_stream_of_unknown_size_needs_a_seekable_output() -> None:
    read_end, write_end = os.pipe()
    try:
        writer = TarWriter(write_end)
        assert not writer.seekable
        with pytest.raises(StorageError):
            writer.add_stream("x", iter([b"data"]))
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_stream_shorter_than_announced_is_an_error(tmp_path: Path) -> None:
    with open(tmp_path / "out.tar", "wb") as file:
        writer = TarWriter(file.fileno(), "out.tar")
        with pytest.raises(StorageError, match="expected 10"):
            writer.add_stream("x", iter([b"data"]), 10)
