"""Small store pieces: volume names, setup sizes, scratch ownership, external commands."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shocker.errors import NotFound, StorageError, UsageError
from shocker.linux.commands import run
from shocker.settings import Settings
from shocker.store import provision
from shocker.store.layout import Layout
from shocker.store.store import Store, sweep_scratch
from shocker.store.volumes import VolumeStore


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_volumes_are_created_listed_and_removed(tmp_path: Path) -> None:
    volumes = VolumeStore(Layout(tmp_path))
    path = volumes.ensure("data")
    (path / "file").write_text("x")
    assert volumes.ensure("data") == path
    assert volumes.list() == ["data"]
    volumes.remove("data")
    assert volumes.list() == []


@pytest.mark.parametrize("name", ["", "-x", "../etc", "a/b", ".hidden"])
def test_invalid_volume_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(UsageError):
        VolumeStore(Layout(tmp_path)).ensure(name)


def test_removing_a_missing_volume_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        VolumeStore(Layout(tmp_path)).remove("nope")


@pytest.mark.parametrize(
    ("text", "size"),
    [("10G", 10 << 30), ("512M", 512 << 20), ("1t", 1 << 40), ("200MiB", 200 << 20)],
)
def test_setup_sizes_use_binary_units(text: str, size: int) -> None:
    assert provision.parse_size(text) == size


@pytest.mark.parametrize("text", ["ten", "10X", "1M", ""])
def test_bad_or_tiny_setup_sizes_are_refused(text: str) -> None:
    with pytest.raises(UsageError):
        provision.parse_size(text)


def test_check_reports_storage_that_is_not_btrfs(tmp_path: Path) -> None:
    missing = provision.check(Settings(root=tmp_path))
    assert any(str(tmp_path) in line and "btrfs" in line for line in missing)


def test_opening_a_non_btrfs_root_points_to_setup(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="is not a btrfs filesystem") as caught:
        Store.open(Settings(root=tmp_path))
    assert caught.value.hint == "run 'shocker setup'"


def test_sweep_removes_scratch_of_dead_processes_only(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    layout.tmp.mkdir(parents=True)
    dead_pid = _dead_pid()
    (layout.tmp / f"layer-{dead_pid}-abc").mkdir()
    (layout.tmp / f"img-{dead_pid}-abc").write_text("x")
    (layout.tmp / f"layer-{os.getpid()}-abc").mkdir()
    (layout.tmp / "unknown").mkdir()
    sweep_scratch(layout)
    assert names(layout.tmp) == [f"layer-{os.getpid()}-abc", "unknown"]


def _dead_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def test_a_failing_command_raises_with_its_stderr() -> None:
    with pytest.raises(StorageError, match=r"ls: .*No such file"):
        run(["ls", "/nonexistent-path-xyz"], error=StorageError, what="ls")


def test_a_missing_program_is_reported_by_name() -> None:
    with pytest.raises(StorageError, match="no-such-program-xyz not found"):
        run(["no-such-program-xyz"], error=StorageError)


def test_a_successful_command_returns_its_output() -> None:
    assert run(["echo", "hi"]).stdout == "hi\n"
