"""The layer applier (store/unpack.py) on hostile archives: climbing names, links out of
the root, whiteouts through symlinks, devices, then bytes mangled on top. Whatever the
archive, nothing outside the target root changes, and a failure is one StorageError."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from shocker.errors import StorageError
from shocker.store.unpack import apply_layer, apply_staged, stage_layer
from tests.unit.fuzz.budget import fuzz
from tests.unit.fuzz.test_tar import mangled
from tests.unit.store.layertar import Entry, build

_NAME = st.sampled_from(["a", "b", "..", ".", "etc", "lnk", ".wh.a", ".wh..wh..opq", "x" * 120])


def _path(outside: str) -> st.SearchStrategy[str]:
    parts = st.lists(_NAME, min_size=1, max_size=5).map("/".join)
    return parts | st.sampled_from([outside, outside + "/secret", "/" + "/".join([".."] * 6)])


KINDS = (tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE,
         tarfile.CHRTYPE)  # fmt: skip


@st.composite
def hostile(draw: st.DrawFn, outside: str) -> bytes:
    entries = []
    target = _path(outside)
    for _ in range(draw(st.integers(1, 10))):
        kind = draw(st.sampled_from(KINDS))
        entry = Entry(draw(target), kind, mode=draw(st.sampled_from([0o644, 0o4755, 0o777, 0])))
        if kind == tarfile.REGTYPE:
            entry.data = draw(st.binary(max_size=64))
        elif kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
            entry.linkname = draw(target)
        elif kind == tarfile.CHRTYPE:
            entry.devmajor, entry.devminor = 1, 3
        entries.append(entry)
    fmt = draw(st.sampled_from([tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]))
    return build(entries, fmt=fmt)


def snapshot(directory: Path) -> dict[str, tuple[int, int, bytes]]:
    found = {}
    for path in sorted(directory.rglob("*")):
        info = path.lstat()
        data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
        found[str(path.relative_to(directory))] = (info.st_mode, info.st_nlink, data)
    return found


def world(tmp_path: Path) -> tuple[Path, Path, Path]:
    work = tmp_path / f"case{os.urandom(4).hex()}"
    outside = work / "outside"
    outside.mkdir(parents=True)
    (outside / "secret").write_text("keep")
    (outside / "dir").mkdir()
    root = work / "root"
    root.mkdir()
    return work, outside, root


def check_contained(raw: bytes, tmp_path: Path, outside: Path, root: Path, staged: bool) -> None:
    before = snapshot(outside)
    try:
        if staged:
            staging = root.parent / "stage"
            try:
                layer = stage_layer(io.BytesIO(raw), staging)
                apply_staged(layer, root)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            assert layer.diff_id == "sha256:" + hashlib.sha256(raw).hexdigest()
        else:
            assert apply_layer(io.BytesIO(raw), root) == "sha256:" + hashlib.sha256(raw).hexdigest()
    except StorageError as error:
        assert error.message and "\n" not in error.message
    assert snapshot(outside) == before
    assert sorted(p.name for p in root.parent.iterdir()) == ["outside", "root"]


@fuzz
@given(data=st.data(), staged=st.booleans())
def test_hostile_layers_stay_inside_the_root(
    tmp_path: Path, data: st.DataObject, staged: bool
) -> None:
    work, outside, root = world(tmp_path)
    raw = data.draw(hostile(str(outside)))
    check_contained(raw, tmp_path, outside, root, staged)
    shutil.rmtree(work)


@fuzz
@given(raw=mangled(), staged=st.booleans())
def test_mangled_layers_stay_inside_the_root(tmp_path: Path, raw: bytes, staged: bool) -> None:
    work, outside, root = world(tmp_path)
    check_contained(raw, tmp_path, outside, root, staged)
    shutil.rmtree(work)
