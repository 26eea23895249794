"""Real-world tars (corpus.py: GNU tar, bsdtar, busybox tar, Python's tarfile) through the
tar reader and the layer applier, with Python's tarfile as the oracle of what each holds;
then the same archives truncated, with broken checksums and flipped bits, where the reader
answers members or one StorageError line and the applier never writes outside its root."""

from __future__ import annotations

import io
import os
import random
import shutil
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shocker.errors import StorageError
from shocker.store.tarstream import TarStream
from shocker.store.unpack import apply_layer
from tests.support.prereqs import have, require
from tests.unit.fuzz.budget import fuzz
from tests.unit.fuzz.corpus import Archive, build_corpus
from tests.unit.fuzz.test_layers import check_contained, world
from tests.unit.fuzz.test_tar import oracle, ours

ROOT = os.geteuid() == 0


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Archive]]:
    work = tmp_path_factory.mktemp("corpus")
    yield build_corpus(work)
    shutil.rmtree(work)


def test_the_corpus_comes_from_every_tool(corpus: list[Archive]) -> None:
    require(have("bsdtar"), "bsdtar (apt-get install libarchive-tools)")
    require(have("busybox"), "busybox (apt-get install busybox-static)")
    tools = {archive.name.split()[0] for archive in corpus}
    assert tools == {"gnu", "bsdtar", "busybox", "python"}
    assert len(corpus) == 15


def xattrs_of(raw: bytes, ours_side: bool) -> list[tuple[str, dict[str, bytes]]]:
    if ours_side:
        stream = TarStream(io.BytesIO(raw))
        found = []
        for member in stream:
            found.append((member.name.rstrip("/"), member.xattrs))
        return found
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
        prefix = "SCHILY.xattr."
        return [
            (
                m.name.rstrip("/"),
                {
                    k[len(prefix) :]: v.encode("utf-8", "surrogateescape")
                    for k, v in m.pax_headers.items()
                    if k.startswith(prefix)
                },
            )
            for m in archive
        ]


def regular_as_0(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """v7's NUL type and "7" (contiguous) are regular files, as the reader reports them."""
    return [(r[0], tarfile.REGTYPE if r[1] in (b"\0", b"7") else r[1], *r[2:]) for r in rows]


def test_every_archive_reads_as_tarfile_reads_it(corpus: list[Archive]) -> None:
    for archive in corpus:
        if archive.sparse:
            # A sparse map is refused in one line, never applied as a file of its map.
            with pytest.raises(StorageError) as refused:
                ours(archive.raw)
            assert "sparse" in refused.value.message, archive.name
            assert "\n" not in refused.value.message
            continue
        assert ours(archive.raw) == regular_as_0(oracle(archive.raw)), archive.name
        assert xattrs_of(archive.raw, True) == xattrs_of(archive.raw, False), archive.name


def test_the_posix_archives_carry_the_xattr(corpus: list[Archive]) -> None:
    # The oracle must see something to compare: GNU tar --xattrs and bsdtar's pax write it.
    by_name = {a.name: a for a in corpus}
    for name in ("gnu tar --format=posix", "bsdtar --format=pax"):
        if name not in by_name:
            continue
        found = dict(xattrs_of(by_name[name].raw, False))
        if found.get("./d/file") == {}:
            pytest.skip("this filesystem keeps no user xattrs")
        assert found["./d/file"] == {"user.note": b"hello"}, name


def _clean(name: str) -> str:
    parts = [p for p in name.split("/") if p not in ("", ".")]
    return "/".join(parts)


def expected_tree(raw: bytes) -> dict[str, tuple[object, ...]]:
    """What applying `raw` must leave, from tarfile's reading: path -> facts (the last
    member of a name wins, as it does on disk)."""
    tree: dict[str, tuple[object, ...]] = {}
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
        for m in archive:
            name = _clean(m.name)
            if not name:
                continue
            owner = (m.uid, m.gid) if ROOT else None
            if m.islnk():
                tree[name] = ("hardlink", _clean(m.linkname))
            elif m.isreg():
                extracted = archive.extractfile(m)
                assert extracted is not None
                tree[name] = ("file", m.mode & 0o7777, owner, extracted.read())
            elif m.isdir():
                tree[name] = ("dir", m.mode & 0o7777, owner)
            elif m.issym():
                tree[name] = ("symlink", m.linkname, owner)
            elif m.isfifo():
                tree[name] = ("fifo", m.mode & 0o7777, owner)
            elif m.ischr() or m.isblk():
                kind = "chr" if m.ischr() else "blk"
                tree[name] = (kind, m.mode & 0o7777, owner, m.devmajor, m.devminor)
    return tree


def actual_tree(root: Path, names: dict[str, tuple[object, ...]]) -> dict[str, tuple[object, ...]]:
    found: dict[str, tuple[object, ...]] = {}
    for name, facts in names.items():
        path = root / name
        info = path.lstat()
        owner = (info.st_uid, info.st_gid) if ROOT else None
        mode = stat.S_IMODE(info.st_mode)
        if facts[0] == "hardlink":
            target = (root / str(facts[1])).lstat()
            same = (info.st_dev, info.st_ino) == (target.st_dev, target.st_ino)
            found[name] = ("hardlink", str(facts[1]) if same else f"not {facts[1]}")
        elif stat.S_ISREG(info.st_mode):
            found[name] = ("file", mode, owner, path.read_bytes())
        elif stat.S_ISDIR(info.st_mode):
            found[name] = ("dir", mode, owner)
        elif stat.S_ISLNK(info.st_mode):
            found[name] = ("symlink", str(path.readlink()), owner)
        elif stat.S_ISFIFO(info.st_mode):
            found[name] = ("fifo", mode, owner)
        elif stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
            kind = "chr" if stat.S_ISCHR(info.st_mode) else "blk"
            found[name] = (kind, mode, owner, os.major(info.st_rdev), os.minor(info.st_rdev))
    return found


def test_every_archive_applies_as_tarfile_lists_it(corpus: list[Archive], tmp_path: Path) -> None:
    for index, archive in enumerate(corpus):
        if archive.sparse:
            continue
        root = tmp_path / f"root{index}"
        root.mkdir()
        try:
            apply_layer(io.BytesIO(archive.raw), root)
        except StorageError as error:
            # Only devices may be out of reach (mknod needs root); nothing else fails.
            assert not ROOT, (archive.name, error.message)
            continue
        want = expected_tree(archive.raw)
        assert actual_tree(root, want) == want, archive.name
        if ROOT and archive.name in ("gnu tar --format=posix", "bsdtar --format=pax"):
            xattrs = {k: os.getxattr(root / "d/file", k) for k in os.listxattr(root / "d/file")}
            carried = dict(xattrs_of(archive.raw, False)).get("./d/file", {})
            assert {k: v for k, v in xattrs.items() if k.startswith("user.")} == carried


def truncations(raw: bytes) -> Iterator[bytes]:
    for cut in sorted({*range(0, len(raw), max(1, len(raw) // 9)), 100, 511, 512, 513, 1024}):
        if cut < len(raw):
            yield raw[:cut]


def broken_checksums(raw: bytes) -> Iterator[bytes]:
    """Header blocks with one byte changed and the checksum left as it was."""
    offset = 0
    count = 0
    while offset + 512 <= len(raw) and count < 4:
        block = raw[offset : offset + 512]
        if block != bytes(512) and block[257:262] in (b"ustar", b"\0\0\0\0\0") and count < 4:
            broken = bytearray(raw)
            broken[offset + 10] ^= 0x20
            yield bytes(broken)
            count += 1
        offset += 512


def bit_flips(raw: bytes, seed: int, count: int = 12) -> Iterator[bytes]:
    rng = random.Random(seed)
    for _ in range(count):
        flipped = bytearray(raw)
        for _ in range(rng.randint(1, 4)):
            where = rng.randrange(min(len(raw), 4096))  # the headers, where parsing happens
            flipped[where] ^= 1 << rng.randrange(8)
        yield bytes(flipped)


def read_or_one_error(raw: bytes) -> None:
    try:
        ours(raw)
    except StorageError as error:
        assert error.message and "\n" not in error.message


def test_mutated_archives_read_or_fail_in_one_line_and_stay_inside(
    corpus: list[Archive], tmp_path: Path
) -> None:
    for index, archive in enumerate(corpus):
        mutants = [
            *truncations(archive.raw),
            *broken_checksums(archive.raw),
            *bit_flips(archive.raw, seed=index),
        ]
        for number, raw in enumerate(mutants):
            read_or_one_error(raw)
            work, outside, root = world(tmp_path)
            check_contained(raw, tmp_path, outside, root, staged=number % 2 == 1)
            shutil.rmtree(work)


@fuzz
@given(data=st.data())
def test_randomly_mangled_corpus_archives_stay_inside(
    corpus: list[Archive], tmp_path: Path, data: st.DataObject
) -> None:
    archive = data.draw(st.sampled_from(corpus))
    raw = bytearray(archive.raw)
    for _ in range(data.draw(st.integers(1, 6))):
        if not raw:
            break
        where = data.draw(st.integers(0, min(len(raw), 8192) - 1))
        action = data.draw(st.sampled_from(["flip", "truncate", "insert", "zero"]))
        if action == "flip":
            raw[where] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "truncate":
            del raw[where:]
        elif action == "insert":
            raw[where:where] = data.draw(st.binary(min_size=1, max_size=600))
        else:
            raw[where : where + 512] = bytes(min(512, len(raw) - where))
    read_or_one_error(bytes(raw))
    work, outside, root = world(tmp_path)
    check_contained(bytes(raw), tmp_path, outside, root, staged=data.draw(st.booleans()))
    shutil.rmtree(work)
