"""The streaming tar reader: header formats, big numbers, PAX records, data chunks."""

from __future__ import annotations

import io
import tarfile

import pytest

from shocker.errors import StorageError
from shocker.store.tarstream import REGULAR, SYMLINK, TarStream
from tests.unit.store.layertar import build, file, symlink


def members(raw: bytes) -> list[tuple[str, bytes, int, int, bytes]]:
    stream = TarStream(io.BytesIO(raw))
    return [
        (m.name, m.type, m.uid, m.mtime_ns, b"".join(bytes(c) for c in stream.chunks()))
        for m in stream
    ]


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_every_tar_format_yields_the_same_members(fmt: int) -> None:
    raw = build([file("etc/a", b"alpha", uid=7, mtime=1234), symlink("l", "etc/a")], fmt=fmt)
    assert members(raw) == [
        ("etc/a", REGULAR, 7, 1234 * 10**9, b"alpha"),
        ("l", SYMLINK, 0, 1_600_000_000 * 10**9, b""),
    ]


def test_large_ids_in_gnu_base_256_are_decoded() -> None:
    raw = build([file("big", b"", uid=3_000_000_000)], fmt=tarfile.GNU_FORMAT)
    assert members(raw)[0][2] == 3_000_000_000


def test_pax_records_override_the_header() -> None:
    raw = build([file("short", b"x", pax={"path": "a/" + "n" * 200, "mtime": "12.5"})])
    name, _, _, mtime_ns, _ = members(raw)[0]
    assert name == "a/" + "n" * 200
    assert mtime_ns == 12_500_000_000


def test_unread_file_data_is_skipped() -> None:
    raw = build([file("one", b"1" * 3000), file("two", b"2")])
    assert [m.name for m in TarStream(io.BytesIO(raw))] == ["one", "two"]


def test_a_stream_without_an_end_marker_ends_cleanly() -> None:
    raw = build([file("one", b"1")])
    assert [m.name for m in TarStream(io.BytesIO(raw[:1024]))] == ["one"]


def test_a_bad_checksum_is_refused() -> None:
    raw = bytearray(build([file("one", b"1")]))
    raw[148:156] = b"0000000\0"
    with pytest.raises(StorageError, match="checksum"):
        list(TarStream(io.BytesIO(bytes(raw))))
