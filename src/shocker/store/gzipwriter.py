"""gzip on every core, pigz's way: one gzip member whose deflate stream is made of blocks
compressed in parallel threads, each primed with the 32 KiB of input before it.

Why: gzip is most of the cost of making a layer (a 200 MB diff is ~4 s of zlib on one core,
where podman's pgzip uses them all). zlib releases the GIL while it compresses, so threads
suffice: on a 2-core machine, 40 MB of binaries at level 6 took 1.90 s of wall
time on one core and 1.01 s here (CPU 1.90 s and 1.94 s); 40 MB of random bytes 0.81 s and
0.45-0.71 s. On a machine with no core to spare it is no faster, and costs ~5% more CPU.

Each block but the last ends with a sync flush (an empty stored block: the next one starts
on a byte boundary), the last with the final block; concatenated, they are one
deflate stream any gunzip reads, with the window continuing across blocks. Blocks are cut
at fixed offsets of the input, so the bytes depend on the input alone, never on how it was
written or on the number of threads. Scheme: pigz.c (Mark Adler), "parallel compression".
Python's zlib has no crc32_combine, so the CRC is computed in order as input arrives.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

BLOCK = 1 << 20
WINDOW = 32 * 1024  # deflate's window: what a block may refer back to
# ID1 ID2, CM=deflate, no flags, MTIME 0 (byte-identical output), XFL 0, OS 3 (Unix).
HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"


def _deflate(block: bytes, primer: bytes, level: int, last: bool) -> bytes:
    if primer:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15, zdict=primer)
    else:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    data = compressor.compress(block)
    return data + compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


class ParallelGzip:
    """Feed input with `write`, then `close()`; compressed bytes go to `emit` in order."""

    def __init__(self, emit: Callable[[bytes], None], level: int, threads: int = 0) -> None:
        self._emit = emit
        self._level = level
        workers = threads or os.cpu_count() or 1
        self._pool = ThreadPoolExecutor(max_workers=workers)
        self._limit = 2 * workers  # blocks in flight: bounded memory
        self._pending: deque[Future[bytes]] = deque()
        self._buffer = bytearray()
        self._primer = b""
        self._crc = 0
        self._size = 0
        emit(HEADER)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        self._buffer += data
        while len(self._buffer) >= BLOCK:
            block = bytes(self._buffer[:BLOCK])
            del self._buffer[:BLOCK]
            self._submit(block, last=False)

    def _submit(self, block: bytes, last: bool) -> None:
        self._pending.append(self._pool.submit(_deflate, block, self._primer, self._level, last))
        self._primer = block[-WINDOW:]
        while len(self._pending) > (0 if last else self._limit):
            self._emit(self._pending.popleft().result())

    def close(self) -> None:
        """The rest of the input as the final block, then the trailer (CRC-32, size)."""
        try:
            self._submit(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._emit(struct.pack("<II", self._crc, self._size & 0xFFFFFFFF))
        finally:
            self.abort()

    def abort(self) -> None:
        """Stop the threads (after close, or when the caller gives up)."""
        for future in self._pending:
            future.cancel()
        self._pool.shutdown(wait=True)
