"""A streaming tar reader for image layers: ustar, GNU long names and PAX headers.

It hashes every byte it consumes (the layer's diff_id) and hands file data out in large
chunks; the stdlib `tarfile` stream mode reads 10 KB at a time and copies its buffer.
Format reference: POSIX.1-2017 pax(1) "ustar Interchange Format" and "pax Extended Header".
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from shocker.errors import StorageError
from shocker.record import field, record
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import BinaryIO

BLOCK = 512
CHUNK = 1 << 20

REGULAR = b"0"
HARDLINK = b"1"
SYMLINK = b"2"
CHARDEV = b"3"
BLOCKDEV = b"4"
DIRECTORY = b"5"
FIFO = b"6"
CONTIGUOUS = b"7"
_NO_DATA = (HARDLINK, SYMLINK, CHARDEV, BLOCKDEV, DIRECTORY, FIFO)
_PAX_LOCAL = b"x"
_PAX_GLOBAL = b"g"
_GNU_LONGNAME = b"L"
_GNU_LONGLINK = b"K"


@record()
class Member:
    name: str
    type: bytes
    mode: int
    uid: int
    gid: int
    size: int
    mtime_ns: int
    linkname: str
    devmajor: int
    devminor: int
    xattrs: dict[str, bytes] = field(default_factory=dict)


def _number(field_bytes: bytes) -> int:
    """A numeric header field: octal text, or GNU base-256 when the high bit is set."""
    if field_bytes and field_bytes[0] & 0x80:
        value = int.from_bytes(field_bytes[1:], "big")
        if field_bytes[0] & 0x40:  # negative base-256
            value -= 1 << (8 * (len(field_bytes) - 1))
        return value
    text = field_bytes.split(b"\0", 1)[0].strip(b" \0")
    try:
        return int(text, 8) if text else 0
    except ValueError:
        raise StorageError(f"layer has a corrupt tar header (number {text!r})") from None


def _text(field_bytes: bytes) -> bytes:
    return field_bytes.split(b"\0", 1)[0]


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _parse_pax(data: bytes) -> dict[str, bytes]:
    """Records `"%d %s=%s\\n"` (length counts the whole record)."""
    records: dict[str, bytes] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        try:
            length = int(data[pos:space])
        except ValueError:
            raise StorageError("layer has a corrupt pax header") from None
        if length <= 0:
            raise StorageError("layer has a corrupt pax header")
        record = data[space + 1 : pos + length - 1]
        key, _, value = record.partition(b"=")
        records[_decode(key)] = value
        pos += length
    return records


class TarStream:
    """Iterate members of an uncompressed tar; `digest()` once the stream is drained
    (unless made with `hashing=False`: an archive of layers, whose digest nobody needs)."""

    def __init__(self, source: BinaryIO, hashing: bool = True) -> None:
        self._source = source
        self._hash = hashlib.sha256() if hashing else None
        self._buf = b""
        self._pos = 0
        self._data_left = 0
        self._padding = 0

    def _fill(self) -> bool:
        chunk = self._source.read(CHUNK)
        if not chunk:
            return False
        if self._hash is not None:
            self._hash.update(chunk)
        self._buf = self._buf[self._pos :] + chunk if self._pos < len(self._buf) else chunk
        self._pos = 0
        return True

    def _take(self, size: int) -> bytes | None:
        """Exactly `size` bytes (a header or pax data), or None at end of stream."""
        while len(self._buf) - self._pos < size:
            if not self._fill():
                return None
        data = self._buf[self._pos : self._pos + size]
        self._pos += size
        return data

    def _skip(self, size: int) -> None:
        while size > 0:
            available = len(self._buf) - self._pos
            if available == 0:
                if not self._fill():
                    raise StorageError("layer tar ends in the middle of a file")
                continue
            step = min(size, available)
            self._pos += step
            size -= step

    def chunks(self) -> Iterator[memoryview]:
        """The current member's data, in pieces as large as the buffer allows."""
        while self._data_left > 0:
            available = len(self._buf) - self._pos
            if available == 0:
                if not self._fill():
                    raise StorageError("layer tar ends in the middle of a file")
                continue
            step = min(self._data_left, available)
            yield memoryview(self._buf)[self._pos : self._pos + step]
            self._pos += step
            self._data_left -= step

    def _finish_member(self) -> None:
        self._skip(self._data_left + self._padding)
        self._data_left = self._padding = 0

    def drain(self) -> None:
        """Read (and hash) everything left, past the end-of-archive marker too."""
        self._buf, self._pos = b"", 0
        while self._fill():
            self._buf, self._pos = b"", 0

    def digest(self) -> str:
        if self._hash is None:
            raise ValueError("a TarStream made without hashing has no digest")
        return "sha256:" + self._hash.hexdigest()

    def _data(self, size: int) -> bytes:
        data = self._take(size)
        if data is None:
            raise StorageError("layer tar ends in the middle of a header")
        self._skip(-size % BLOCK)
        return data

    def __iter__(self) -> Iterator[Member]:
        global_pax: dict[str, bytes] = {}
        local: dict[str, bytes] = {}
        long_name: bytes | None = None
        long_link: bytes | None = None
        while True:
            self._finish_member()
            header = self._take(BLOCK)
            if header is None or header == bytes(BLOCK):
                return  # two zero blocks end the archive; a short stream ends it too
            if _number(header[148:156]) != sum(header[:148]) + 256 + sum(header[156:]):
                raise StorageError("layer has a corrupt tar header (bad checksum)")
            kind = header[156:157] or REGULAR
            size = _number(header[124:136])
            if kind in (_PAX_LOCAL, _PAX_GLOBAL, _GNU_LONGNAME, _GNU_LONGLINK):
                data = self._data(size)
                if kind == _PAX_LOCAL:
                    local.update(_parse_pax(data))
                elif kind == _PAX_GLOBAL:
                    global_pax.update(_parse_pax(data))
                elif kind == _GNU_LONGNAME:
                    long_name = _text(data)
                else:
                    long_link = _text(data)
                continue
            pax = {**global_pax, **local}
            member = self._member(header, kind, size, pax, long_name, long_link)
            local, long_name, long_link = {}, None, None
            if member.type == REGULAR:
                self._data_left, self._padding = member.size, -member.size % BLOCK
            elif member.type not in _NO_DATA:
                # Unknown types carry `size` bytes of data, skipped as tarfile does.
                self._padding = member.size + -member.size % BLOCK
            yield member

    @staticmethod
    def _member(
        header: bytes,
        kind: bytes,
        size: int,
        pax: dict[str, bytes],
        long_name: bytes | None,
        long_link: bytes | None,
    ) -> Member:
        name = long_name if long_name is not None else _text(header[0:100])
        if long_name is None and header[257:263] == b"ustar\x00":
            prefix = _text(header[345:500])
            if prefix:
                name = prefix + b"/" + name
        linkname = long_link if long_link is not None else _text(header[157:257])
        mtime_ns = _number(header[136:148]) * 1_000_000_000
        if "mtime" in pax:
            mtime_ns = _pax_time_ns(pax["mtime"])
        xattrs = {
            key[len("SCHILY.xattr.") :]: value
            for key, value in pax.items()
            if key.startswith("SCHILY.xattr.")
        }
        # Old GNU sparse members ("S"), and the pax forms GNU tar and bsdtar write (0.0,
        # 0.1, 1.0: GNU.sparse.* records, the map before the data in 1.0): read as plain
        # files they would be applied under a wrong name or with the map as content.
        if kind == b"S" or any(key.startswith("GNU.sparse.") for key in pax):
            raise StorageError("layer uses GNU sparse files, which shocker does not support")
        member = Member(
            name=_decode(pax["path"]) if "path" in pax else _decode(name),
            type=REGULAR if kind in (b"\0", CONTIGUOUS) else kind,
            mode=_number(header[100:108]) & 0o7777,
            uid=_pax_int(pax, "uid") if "uid" in pax else _number(header[108:116]),
            gid=_pax_int(pax, "gid") if "gid" in pax else _number(header[116:124]),
            size=_pax_int(pax, "size") if "size" in pax else size,
            mtime_ns=mtime_ns,
            linkname=_decode(pax["linkpath"]) if "linkpath" in pax else _decode(linkname),
            devmajor=_number(header[329:337]),
            devminor=_number(header[337:345]),
            xattrs=xattrs,
        )
        _check_ranges(member)
        return member


# What the kernel can hold: ids below (uid_t)-1 (which chown(2) reads as "unchanged"),
# device numbers of 32 bits each, times and sizes of 64 bits.
_ID_LIMIT = 2**32 - 1
_LIMITS = (
    ("uid", 0, _ID_LIMIT),
    ("gid", 0, _ID_LIMIT),
    ("size", 0, 2**63),
    ("mtime_ns", -(2**63), 2**63),
    ("devmajor", 0, 2**32),
    ("devminor", 0, 2**32),
)


def _check_ranges(member: Member) -> None:
    for name, low, high in _LIMITS:
        value = getattr(member, name)
        if not low <= value < high:
            raise StorageError(f"layer member {member.name!r} has an impossible {name} {value}")


def _pax_int(pax: dict[str, bytes], key: str) -> int:
    raw = pax[key]
    if not raw.isdigit():
        raise StorageError(f"layer has a corrupt pax {key} {raw[:40]!r}")
    return int(raw)


def _pax_time_ns(raw: bytes) -> int:
    whole, _, fraction = raw.decode("ascii", "replace").partition(".")
    try:
        seconds = int(whole)
        nanos = int((fraction + "000000000")[:9]) if fraction else 0
    except ValueError:
        raise StorageError("layer has a corrupt pax mtime") from None
    return seconds * 1_000_000_000 + (nanos if seconds >= 0 else -nanos)
