"""Spooling an archive: members by canonical name, links followed inside it, hostile names
and links refused, truncation reported."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from shocker.oci.archive import ArchiveError
from shocker.store.spool import archive_name, spool_archive


def _archive(*members: tuple[str, bytes] | tuple[str, str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for member in members:
            info = tarfile.TarInfo(member[0])
            if len(member) == 3:
                kind, target = member[1], member[2]
                info.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
                info.linkname = target.decode()
                tar.addfile(info)
            else:
                data = member[1]
                assert isinstance(data, bytes)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_podmans_symlinked_layer_tar_resolves_to_its_data(tmp_path: Path) -> None:
    data = _archive(
        ("abc.tar", b"layer bytes"),
        ("v1id/layer.tar", "symlink", b"../abc.tar"),
        ("hard.tar", "hardlink", b"abc.tar"),
    )

    spooled = spool_archive(io.BytesIO(data), tmp_path / "spool")

    assert spooled.read("v1id/layer.tar") == b"layer bytes"
    assert spooled.read("./hard.tar") == b"layer bytes"
    assert spooled.resolve("v1id/layer.tar").name == "abc.tar"


@pytest.mark.parametrize("name", ["../x", "a/../../x", "/etc/passwd"])
def test_names_leaving_the_archive_are_refused(name: str) -> None:
    with pytest.raises(ArchiveError):
        archive_name(name)


@pytest.mark.parametrize("target", [b"/etc/passwd", b"../../etc/passwd"])
def test_symlinks_leaving_the_archive_are_refused(tmp_path: Path, target: bytes) -> None:
    data = _archive(("dir/layer.tar", "symlink", target))

    with pytest.raises(ArchiveError, match="outside the archive"):
        spool_archive(io.BytesIO(data), tmp_path / "spool")


def test_a_symlink_loop_is_reported(tmp_path: Path) -> None:
    data = _archive(("a", "symlink", b"b"), ("b", "symlink", b"a"))
    spooled = spool_archive(io.BytesIO(data), tmp_path / "spool")

    with pytest.raises(ArchiveError, match="links"):
        spooled.resolve("a")


def test_a_truncated_archive_is_reported(tmp_path: Path) -> None:
    data = _archive(("big", b"x" * 10000))

    with pytest.raises(ArchiveError, match="truncated"):
        spool_archive(io.BytesIO(data[:4000]), tmp_path / "spool")


def test_an_empty_stream_is_not_an_archive(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="empty"):
        spool_archive(io.BytesIO(b""), tmp_path / "spool")
