"""The tar reader (store/tarstream.py) against Python's tarfile as the oracle, on archives
tarfile writes in every format; and on mangled archives, where the only answer besides the
members is one StorageError."""

from __future__ import annotations

import io
import tarfile
from typing import Literal

from hypothesis import assume, given
from hypothesis import strategies as st

from shocker.errors import StorageError
from shocker.store.tarstream import TarStream
from tests.unit.fuzz.budget import fuzz

_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
_COMPONENT = st.text(
    alphabet=st.characters(exclude_characters="/\0", exclude_categories=_SURROGATES),
    min_size=1,
    max_size=60,
).filter(lambda c: c not in (".", ".."))
NAMES = st.lists(_COMPONENT, min_size=1, max_size=6).map("/".join)
KINDS = (tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE,
         tarfile.CHRTYPE, tarfile.BLKTYPE)  # fmt: skip
FORMATS = (tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT)


@st.composite
def archives(draw: st.DrawFn) -> bytes:
    fmt = draw(st.sampled_from(FORMATS))
    buffer = io.BytesIO()
    try:
        with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
            for _ in range(draw(st.integers(0, 6))):
                info = tarfile.TarInfo(draw(NAMES))
                info.type = draw(st.sampled_from(KINDS))
                info.mode = draw(st.integers(0, 0o7777))
                info.uid = draw(st.integers(0, 2**32 - 2))  # (uid_t)-1 is refused
                info.gid = draw(st.integers(0, 2**32 - 2))
                info.mtime = draw(st.integers(0, 2**33 - 1))  # ns of it fit in 64 bits
                data = b""
                if info.type == tarfile.REGTYPE:
                    data = draw(st.binary(max_size=3000))
                    info.size = len(data)
                elif info.type in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                    info.linkname = draw(NAMES)
                elif info.type in (tarfile.CHRTYPE, tarfile.BLKTYPE):
                    info.devmajor = draw(st.integers(0, 4095))
                    info.devminor = draw(st.integers(0, 2**20 - 1))
                archive.addfile(info, io.BytesIO(data))
    except ValueError:
        assume(False)  # not representable in this format (a long name in ustar, a big id)
    return buffer.getvalue()


def ours(raw: bytes) -> list[tuple[object, ...]]:
    stream = TarStream(io.BytesIO(raw))
    found: list[tuple[object, ...]] = []
    for m in stream:
        data = b"".join(bytes(c) for c in stream.chunks())
        found.append((m.name.rstrip("/"), m.type, m.mode, m.uid, m.gid, m.mtime_ns // 10**9,
                      m.linkname, m.devmajor, m.devminor, data))  # fmt: skip
    return found


def oracle(raw: bytes) -> list[tuple[object, ...]]:
    found: list[tuple[object, ...]] = []
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
        for m in archive:
            data = b""
            if m.isreg():
                extracted = archive.extractfile(m)
                assert extracted is not None
                data = extracted.read()
            major, minor = (m.devmajor, m.devminor) if m.ischr() or m.isblk() else (0, 0)
            found.append((m.name.rstrip("/"), m.type, m.mode, m.uid, m.gid, int(m.mtime),
                          m.linkname, major, minor, data))  # fmt: skip
    return found


@fuzz
@given(raw=archives())
def test_every_member_reads_as_tarfile_reads_it(raw: bytes) -> None:
    assert ours(raw) == oracle(raw)


@st.composite
def mangled(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(archives()))
    for _ in range(draw(st.integers(1, 8))):
        action = draw(st.sampled_from(["flip", "truncate", "insert", "header"]))
        if not raw:
            break
        where = draw(st.integers(0, len(raw) - 1))
        if action == "flip":
            raw[where] = draw(st.integers(0, 255))
        elif action == "truncate":
            del raw[where:]
        elif action == "insert":
            raw[where:where] = draw(st.binary(min_size=1, max_size=600))
        else:  # a number field of a header block, with the checksum made right again
            block = where - where % 512
            if block + 512 > len(raw):
                continue
            start = draw(st.sampled_from([100, 108, 116, 124, 136, 329, 337]))
            length = 12 if start in (124, 136) else 8
            raw[block + start : block + start + length] = draw(
                st.binary(min_size=length, max_size=length)
            )
            raw[block + 148 : block + 156] = b" " * 8
            checksum = sum(raw[block : block + 512])
            raw[block + 148 : block + 156] = b"%06o\0 " % checksum
    return bytes(raw)


@fuzz
@given(raw=mangled())
def test_a_mangled_archive_reads_or_is_one_storage_error(raw: bytes) -> None:
    try:
        ours(raw)
    except StorageError as error:
        assert "\n" not in error.message and error.message
