"""ParallelGzip: one gzip member any gunzip reads, its bytes set by the input alone."""

from __future__ import annotations

import gzip
import io
import os
import zlib

import pytest

from shocker.store.compression import open_decompressed
from shocker.store.gzipwriter import BLOCK, ParallelGzip


def compressed(data: bytes, chunk: int, threads: int = 2, level: int = 6) -> bytes:
    out: list[bytes] = []
    writer = ParallelGzip(out.append, level, threads)
    for start in range(0, len(data), chunk):
        writer.write(data[start : start + chunk])
    writer.close()
    return b"".join(out)


# Text-like data, so blocks refer back across their boundaries (the primed window matters).
TEXT = b"".join(b"line %d of a layer that repeats itself\n" % (n % 997) for n in range(90_000))
SIZES = [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + BLOCK // 2]


@pytest.mark.parametrize("size", SIZES)
def test_gunzip_gives_back_the_input(size: int) -> None:
    data = (TEXT * (size // len(TEXT) + 1))[:size]

    blob = compressed(data, 65_536)

    assert gzip.decompress(blob) == data
    assert zlib.decompress(blob, wbits=31) == data
    stream = open_decompressed(io.BytesIO(blob))
    assert b"".join(iter(lambda: stream.read(1 << 16), b"")) == data


def test_the_bytes_depend_on_the_input_alone() -> None:
    data = TEXT + os.urandom(BLOCK) + TEXT

    first = compressed(data, 10_240, threads=1)

    assert compressed(data, 1 << 20, threads=4) == first
    assert compressed(data, 7_777, threads=2) == first


def test_blocks_refer_back_across_their_boundaries() -> None:
    # 16 KiB of noise over and over: a block costs its first copy of the noise unless it
    # starts primed with the window before it; three unprimed blocks cost three copies.
    noise = os.urandom(16_384)
    data = noise * (3 * BLOCK // len(noise))

    blob = compressed(data, 65_536)

    assert gzip.decompress(blob) == data
    one_block = len(zlib.compress(data[:BLOCK], 6))
    assert len(blob) < 2 * one_block
