"""open_decompressed: gzip (one or several members), zstd and plain tar are sniffed."""

from __future__ import annotations

import gzip
import io
import os

import pytest
import zstandard

from shocker.errors import StorageError
from shocker.store.compression import open_decompressed

PAYLOAD = os.urandom(300_000) + b"tail" * 1000


def read_all(blob: bytes) -> bytes:
    stream = open_decompressed(io.BytesIO(blob))
    chunks = []
    while chunk := stream.read(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_plain_tar_passes_through_unchanged() -> None:
    assert read_all(PAYLOAD) == PAYLOAD


def test_gzip_is_decompressed() -> None:
    assert read_all(gzip.compress(PAYLOAD)) == PAYLOAD


def test_gzip_with_several_members_and_zero_padding_is_read_whole() -> None:
    blob = gzip.compress(PAYLOAD[:1000]) + gzip.compress(PAYLOAD[1000:]) + b"\0" * 512
    assert read_all(blob) == PAYLOAD


def test_zstd_is_decompressed() -> None:
    assert read_all(zstandard.ZstdCompressor().compress(PAYLOAD)) == PAYLOAD


def test_zstd_with_several_frames_is_read_whole() -> None:
    compressor = zstandard.ZstdCompressor()
    blob = compressor.compress(PAYLOAD[:5000]) + compressor.compress(PAYLOAD[5000:])
    assert read_all(blob) == PAYLOAD


def test_empty_input_reads_as_empty() -> None:
    assert read_all(b"") == b""


def test_truncated_gzip_is_a_storage_error() -> None:
    blob = gzip.compress(PAYLOAD)
    with pytest.raises(StorageError, match="truncated"):
        read_all(blob[: len(blob) // 2])


def test_corrupt_zstd_is_a_storage_error() -> None:
    blob = bytearray(zstandard.ZstdCompressor(write_checksum=True).compress(PAYLOAD))
    blob[20:40] = b"\xff" * 20
    with pytest.raises(StorageError):
        read_all(bytes(blob))
