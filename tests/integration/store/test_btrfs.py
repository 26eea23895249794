"""Subvolume create, snapshot, read-only flag and delete through ioctls on a real btrfs."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from shocker.errors import StorageError
from shocker.store import btrfs


def test_btrfs_is_recognised_and_other_filesystems_are_not(
    store_btrfs: Path, tmp_path: Path
) -> None:
    assert btrfs.is_btrfs(store_btrfs)
    assert not btrfs.is_btrfs(tmp_path)
    assert not btrfs.is_btrfs(tmp_path / "missing")


def test_a_created_subvolume_is_a_subvolume_root(scratch_dir: Path) -> None:
    btrfs.create_subvolume(scratch_dir / "sv")
    assert btrfs.is_subvolume(scratch_dir / "sv")
    assert not btrfs.is_subvolume(scratch_dir)


def test_a_snapshot_has_the_content_and_then_lives_its_own_life(scratch_dir: Path) -> None:
    btrfs.create_subvolume(scratch_dir / "src")
    (scratch_dir / "src/file").write_text("one")
    btrfs.snapshot(scratch_dir / "src", scratch_dir / "snap")
    (scratch_dir / "snap/file").write_text("two")
    (scratch_dir / "snap/new").write_text("x")
    assert (scratch_dir / "src/file").read_text() == "one"
    assert not (scratch_dir / "src/new").exists()
    assert btrfs.is_subvolume(scratch_dir / "snap")


def test_a_read_only_snapshot_refuses_writes_until_made_writable(scratch_dir: Path) -> None:
    btrfs.create_subvolume(scratch_dir / "src")
    btrfs.snapshot(scratch_dir / "src", scratch_dir / "ro", readonly=True)
    assert btrfs.is_readonly(scratch_dir / "ro")
    with pytest.raises(OSError) as caught:
        (scratch_dir / "ro/file").write_text("x")
    assert caught.value.errno == errno.EROFS
    btrfs.set_readonly(scratch_dir / "ro", False)
    (scratch_dir / "ro/file").write_text("x")
    assert not btrfs.is_readonly(scratch_dir / "ro")


def test_delete_removes_a_subvolume_with_nested_and_read_only_subvolumes(
    scratch_dir: Path,
) -> None:
    top = scratch_dir / "top"
    btrfs.create_subvolume(top)
    (top / "dir").mkdir()
    (top / "dir/file").write_text("x")
    btrfs.create_subvolume(top / "dir/nested")
    btrfs.create_subvolume(top / "dir/nested/deeper")
    btrfs.snapshot(top / "dir/nested", top / "frozen", readonly=True)
    btrfs.set_readonly(top, True)
    btrfs.delete_subvolume(top)
    assert not top.exists()


def test_delete_of_a_plain_directory_holding_a_subvolume_removes_both(scratch_dir: Path) -> None:
    plain = scratch_dir / "plain"
    (plain / "sub").mkdir(parents=True)
    btrfs.create_subvolume(plain / "sub/sv")
    (plain / "sub/sv/file").write_text("x")
    btrfs.delete_subvolume(plain)
    assert not plain.exists()


def test_delete_of_a_missing_path_does_nothing(scratch_dir: Path) -> None:
    btrfs.delete_subvolume(scratch_dir / "never-existed")


def test_snapshot_of_a_missing_source_is_a_storage_error(scratch_dir: Path) -> None:
    with pytest.raises(StorageError, match="cannot snapshot"):
        btrfs.snapshot(scratch_dir / "missing", scratch_dir / "dest")


def test_creating_over_an_existing_name_is_a_storage_error(scratch_dir: Path) -> None:
    btrfs.create_subvolume(scratch_dir / "sv")
    with pytest.raises(StorageError, match="File exists"):
        btrfs.create_subvolume(scratch_dir / "sv")
