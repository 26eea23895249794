"""apply_layer on a plain directory: content, metadata, whiteouts, containment, diff_id.

Every test through `apply` runs twice: applying the tar as it is read, and staging it first
(stage_layer, then apply_staged, as a pull does for every layer above the first)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import stat
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shocker.errors import StorageError
from shocker.store.unpack import apply_layer, apply_staged, split_member_name, stage_layer
from tests.unit.store.layertar import (
    Entry,
    build,
    directory,
    file,
    hardlink,
    opaque,
    symlink,
    whiteout,
)


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


STAGED = {"on": False}


@pytest.fixture(autouse=True, params=["streamed", "staged"])
def how_applied(request: pytest.FixtureRequest) -> None:
    STAGED["on"] = request.param == "staged"


def apply(entries: list[Entry], target: Path) -> str:
    raw = build(entries)
    if not STAGED["on"]:
        return apply_layer(io.BytesIO(raw), target)
    # Beside the target's directory: some tests check that nothing appears next to it.
    staging = target.parent.parent / f"stage-{os.urandom(4).hex()}"
    try:
        staged = stage_layer(io.BytesIO(raw), staging)
        apply_staged(staged, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    assert staged.diff_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    return staged.diff_id


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    target = tmp_path / "root"
    target.mkdir()
    return target


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory next to the root that no layer may touch."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret").write_text("keep")
    return path


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("a/b", ("a", "b")),
        ("./a//b/", ("a", "b")),
        ("/etc/passwd", ("etc", "passwd")),
        ("../../etc/passwd", ("etc", "passwd")),
        ("a/../../b", ("b",)),
        ("./", ()),
    ],
)
def test_member_names_are_resolved_below_the_root(name: str, parts: tuple[str, ...]) -> None:
    assert split_member_name(name) == parts


def test_files_directories_and_symlinks_are_created_with_their_content(root: Path) -> None:
    apply(
        [
            directory("etc"),
            file("etc/hostname", b"box\n"),
            file("usr/bin/tool", b"#!/bin/sh\n", mode=0o755),
            symlink("bin", "usr/bin"),
        ],
        root,
    )
    assert (root / "etc/hostname").read_bytes() == b"box\n"
    assert (root / "usr/bin/tool").read_bytes() == b"#!/bin/sh\n"
    assert (root / "bin").readlink().as_posix() == "usr/bin"
    assert (root / "bin/tool").read_bytes() == b"#!/bin/sh\n"


def test_modes_including_setuid_and_sticky_are_preserved(root: Path) -> None:
    apply(
        [
            file("bin/su", b"x", mode=0o4755),
            file("bin/wall", b"x", mode=0o2755),
            directory("tmp", mode=0o1777),
            file("secret", b"x", mode=0o600),
        ],
        root,
    )
    assert stat.S_IMODE((root / "bin/su").stat().st_mode) == 0o4755
    assert stat.S_IMODE((root / "bin/wall").stat().st_mode) == 0o2755
    assert stat.S_IMODE((root / "tmp").stat().st_mode) == 0o1777
    assert stat.S_IMODE((root / "secret").stat().st_mode) == 0o600


def test_mtimes_of_files_directories_and_symlinks_are_preserved(root: Path) -> None:
    apply(
        [
            directory("d", mtime=1_000_000_000),
            file("d/f", b"x", mtime=1_100_000_000),
            symlink("d/l", "f", mtime=1_200_000_000),
        ],
        root,
    )
    assert (root / "d").stat().st_mtime == 1_000_000_000
    assert (root / "d/f").stat().st_mtime == 1_100_000_000
    assert (root / "d/l").lstat().st_mtime == 1_200_000_000


def test_hardlinks_share_the_inode_of_their_target(root: Path) -> None:
    apply([file("bin/busybox", b"elf"), hardlink("bin/sh", "bin/busybox")], root)
    assert (root / "bin/sh").stat().st_ino == (root / "bin/busybox").stat().st_ino
    assert (root / "bin/busybox").stat().st_nlink == 2


def test_fifos_are_created(root: Path) -> None:
    apply([Entry("run/pipe", tarfile.FIFOTYPE, mode=0o620)], root)
    info = (root / "run/pipe").lstat()
    assert stat.S_ISFIFO(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o620


def test_long_names_and_pax_headers_are_read(root: Path) -> None:
    deep = "/".join(["d" * 60] * 5) + "/file"
    apply([file(deep, b"deep")], root)
    (gnu_root := root / "gnu").mkdir()
    apply_layer(io.BytesIO(build([file(deep, b"gnu")], fmt=tarfile.GNU_FORMAT)), gnu_root)
    assert (root / deep).read_bytes() == b"deep"
    assert (gnu_root / deep).read_bytes() == b"gnu"


def test_a_file_replaces_a_lower_directory_and_a_directory_replaces_a_lower_file(
    root: Path,
) -> None:
    apply([file("a/inner", b"1"), file("b", b"2")], root)
    apply([file("a", b"now a file"), directory("b")], root)
    assert (root / "a").read_bytes() == b"now a file"
    assert (root / "b").is_dir()


def test_whiteout_hides_file_from_lower_layer(root: Path) -> None:
    apply([file("etc/motd", b"hi"), file("etc/keep", b"k"), file("opt/big/x", b"x")], root)
    apply([whiteout("etc/motd"), whiteout("opt/big")], root)
    assert tree(root) == {"etc", "etc/keep", "opt"}


def test_whiteout_of_a_missing_path_is_ignored(root: Path) -> None:
    apply([whiteout("nowhere/file"), whiteout("absent")], root)
    assert tree(root) == set()


def test_whiteout_does_not_remove_what_the_same_layer_adds(root: Path) -> None:
    apply([file("new", b"mine"), whiteout("new")], root)
    assert (root / "new").read_bytes() == b"mine"


def test_opaque_directory_hides_lower_content_but_keeps_this_layers_entries(
    root: Path,
) -> None:
    apply([file("d/lower", b"1"), file("d/sub/lower", b"2"), file("other", b"3")], root)
    apply([file("d/early", b"e"), opaque("d"), file("d/late", b"l"), file("d/sub/new", b"n")], root)
    assert tree(root) == {"d", "d/early", "d/late", "d/sub", "d/sub/new", "other"}


def test_whiteout_files_never_appear_in_the_result(root: Path) -> None:
    apply([opaque("d"), whiteout("d/x"), file(".wh..wh.plnk", b"aufs")], root)
    assert not [p for p in tree(root) if ".wh." in p]


def test_diff_id_is_the_sha256_of_every_byte_read(root: Path) -> None:
    raw = build([file("a", b"content")]) + b"\0" * 4096 + b"trailing bytes"
    digest = apply_layer(io.BytesIO(raw), root)
    assert digest == "sha256:" + hashlib.sha256(raw).hexdigest()


def test_large_files_are_copied_exactly(root: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 123)
    apply([file("blob", data), file("after", b"ok")], root)
    assert (root / "blob").read_bytes() == data
    assert (root / "after").read_bytes() == b"ok"


def test_a_truncated_layer_is_an_error(root: Path) -> None:
    raw = build([file("a", os.urandom(5000))])
    with pytest.raises(StorageError):
        apply_layer(io.BytesIO(raw[:2048]), root)


def test_a_corrupt_header_is_an_error(root: Path) -> None:
    raw = bytearray(build([file("a", b"x")]))
    raw[0:4] = b"XXXX"
    with pytest.raises(StorageError, match="checksum"):
        apply_layer(io.BytesIO(bytes(raw)), root)


# Containment: nothing is ever written outside the root.


def test_dotdot_and_absolute_member_names_land_inside_the_root(root: Path, outside: Path) -> None:
    apply([file("../../outside/evil", b"x"), file("/abs/path", b"y")], root)
    assert (root / "outside/evil").read_bytes() == b"x"
    assert (root / "abs/path").read_bytes() == b"y"
    assert names(outside) == ["secret"]


def test_a_symlinked_directory_pointing_outside_is_followed_inside_the_root(
    root: Path, outside: Path
) -> None:
    apply([symlink("escape", str(outside)), file("escape/evil", b"x")], root)
    assert names(outside) == ["secret"]
    assert (root / str(outside).lstrip("/") / "evil").read_bytes() == b"x"


def test_a_relative_symlink_climbing_out_stops_at_the_root(root: Path, outside: Path) -> None:
    apply([symlink("up", "../../../../outside"), file("up/evil", b"x")], root)
    assert names(outside) == ["secret"]
    assert (root / "outside/evil").read_bytes() == b"x"


def test_a_symlink_in_a_later_layer_is_contained_too(root: Path, outside: Path) -> None:
    apply([symlink("etc", str(outside))], root)
    apply([file("etc/secret", b"overwritten?")], root)
    assert (outside / "secret").read_text() == "keep"


def test_a_file_member_replaces_a_symlink_instead_of_writing_through_it(
    root: Path, outside: Path
) -> None:
    apply([symlink("target", str(outside / "secret")), file("target", b"overwritten?")], root)
    assert (outside / "secret").read_text() == "keep"
    assert (root / "target").read_bytes() == b"overwritten?"
    assert not (root / "target").is_symlink()


def test_a_hardlink_to_a_path_outside_resolves_inside_the_root(root: Path, outside: Path) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        apply([hardlink("stolen", str(outside / "secret"))], root)
    assert (outside / "secret").stat().st_nlink == 1


def test_a_hardlink_to_etc_passwd_links_the_roots_own_file(root: Path) -> None:
    apply([file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n"), hardlink("pw", "/etc/passwd")], root)
    assert (root / "pw").stat().st_ino == (root / "etc/passwd").stat().st_ino
    assert (root / "pw").stat().st_ino != Path("/etc/passwd").stat().st_ino


def test_a_hardlink_through_a_symlink_pointing_outside_cannot_reach_outside(
    root: Path, outside: Path
) -> None:
    with pytest.raises(StorageError):
        apply([symlink("out", str(outside)), hardlink("stolen", "out/secret")], root)
    assert (outside / "secret").stat().st_nlink == 1


def test_whiteouts_through_symlinks_do_not_delete_outside(root: Path, outside: Path) -> None:
    apply([symlink("out", str(outside))], root)
    apply([whiteout("out/secret"), opaque("out")], root)
    assert (outside / "secret").read_text() == "keep"


_NAMES = st.sampled_from(["a", "lnk", "lnk", "..", ".", "", "secret", ".wh.a", ".wh..wh..opq"])
_PATHS = st.lists(_NAMES, min_size=1, max_size=4).map("/".join)


@st.composite
def _hostile_entries(draw: st.DrawFn, outside: str) -> list[Entry]:
    entries = []
    for _ in range(draw(st.integers(1, 8))):
        path = draw(_PATHS)
        kind = draw(st.sampled_from(["file", "dir", "symlink", "hardlink"]))
        if kind == "file":
            entries.append(file(path, b"x"))
        elif kind == "dir":
            entries.append(directory(path))
        elif kind == "symlink":
            path = draw(st.sampled_from(["lnk", "a/lnk", "a"]))
            target = draw(st.sampled_from([outside, "..", "../..", "/", "a", outside + "/x"]))
            entries.append(symlink(path, target))
        else:
            entries.append(hardlink(path, draw(st.sampled_from([outside + "/secret", "a"]))))
    return entries


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_no_layer_ever_writes_outside_the_root(tmp_path: Path, data: st.DataObject) -> None:
    work = tmp_path / f"case{os.urandom(4).hex()}"
    outside = work / "outside"
    outside.mkdir(parents=True)
    (outside / "secret").write_text("keep")
    root = work / "root"
    root.mkdir()
    entries = data.draw(_hostile_entries(str(outside)))
    with contextlib.suppress(StorageError):
        apply(entries, root)
    assert names(work) == ["outside", "root"]
    assert names(outside) == ["secret"]
    assert (outside / "secret").read_text() == "keep"
    assert (outside / "secret").stat().st_nlink == 1
