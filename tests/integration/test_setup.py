"""Storage checks and `shocker setup` (a sparse file, mkfs.btrfs, a loop mount)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.assertions import assert_one_line_error, image_rows
from tests.support.btrfs import loop_devices_backed_by, remove_tree, unmount_and_detach
from tests.support.shocker import Shocker


def _filesystem_type(path: Path) -> str:
    return subprocess.run(
        ["stat", "-f", "-c", "%T", str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def plain_dir_shocker(shocker: Shocker, tmp_path: Path) -> Shocker:
    """SHOCKER_ROOT on a directory that is not btrfs (the tmp dir's filesystem)."""
    root = tmp_path / "not-btrfs"
    root.mkdir()
    assert _filesystem_type(root) != "btrfs"
    return shocker.with_env(SHOCKER_ROOT=str(root))


@pytest.fixture
def provisioning(shocker: Shocker, session_dir: Path) -> Iterator[tuple[Shocker, Path, Path]]:
    """A runner whose SHOCKER_ROOT is a fresh mount point; the image file beside it.
    Unmounted, detached and deleted afterwards whatever the test did."""
    workdir = session_dir / f"setup-{id(shocker):x}"
    workdir.mkdir()
    mount_point = workdir / "mnt"
    image_file = workdir / "shocker.img"
    try:
        yield shocker.with_env(SHOCKER_ROOT=str(mount_point)), mount_point, image_file
    finally:
        if mount_point.is_mount():
            remove_tree(mount_point / ".shocker")
        unmount_and_detach(mount_point, image_file)
        with contextlib.suppress(FileNotFoundError):
            image_file.unlink()
        subprocess.run(["rm", "-rf", "--one-file-system", str(workdir)], check=False)


def test_a_root_that_is_not_btrfs_points_to_shocker_setup(plain_dir_shocker: Shocker) -> None:
    result = plain_dir_shocker("images")

    assert_one_line_error(result, "shocker setup")


def test_pull_on_a_root_that_is_not_btrfs_points_to_shocker_setup(
    plain_dir_shocker: Shocker,
) -> None:
    assert_one_line_error(plain_dir_shocker("pull", "busybox"), "shocker setup")


def test_setup_check_on_btrfs_reports_ready(shocker: Shocker) -> None:
    result = shocker("setup", "--check")

    assert result.rc == 0, str(result)
    assert "missing" not in result.out.lower(), str(result)


def test_setup_check_reports_storage_missing_and_changes_nothing(
    plain_dir_shocker: Shocker,
) -> None:
    result = plain_dir_shocker("setup", "--check")

    assert result.rc != 0, str(result)
    assert "Traceback" not in result.err
    assert str(plain_dir_shocker.root) in result.out + result.err
    assert list(plain_dir_shocker.root.iterdir()) == []


def test_setup_provisions_a_loop_mounted_btrfs_and_says_each_step(
    provisioning: tuple[Shocker, Path, Path],
) -> None:
    runner, mount_point, image_file = provisioning

    result = runner("setup", "--image-file", str(image_file), "--size", "256M").check()

    assert _filesystem_type(mount_point) == "btrfs"
    assert image_file.stat().st_blocks * 512 < image_file.stat().st_size, "not sparse"
    assert loop_devices_backed_by(image_file)
    assert len(result.lines) >= 3, str(result)
    assert image_rows(runner("images").check()) == {}
    # Subordinate ids for --userns=auto: a `shocker` entry, once, in each file.
    for variable in ("SHOCKER_SUBUID", "SHOCKER_SUBGID"):
        entries = Path(runner.env[variable]).read_text().splitlines()
        assert [e.split(":")[0] for e in entries if e.startswith("shocker:")] == ["shocker"]


def test_setup_twice_changes_nothing_the_second_time(
    provisioning: tuple[Shocker, Path, Path],
) -> None:
    runner, _, image_file = provisioning
    runner("setup", "--image-file", str(image_file), "--size", "256M").check()

    again = runner("setup", "--image-file", str(image_file), "--size", "256M").check()

    assert "already" in again.out, str(again)
    assert len(loop_devices_backed_by(image_file)) == 1
    assert not any(line.startswith("Created sparse") for line in again.lines)


def test_setup_refuses_a_size_too_small_for_btrfs(
    provisioning: tuple[Shocker, Path, Path],
) -> None:
    runner, mount_point, image_file = provisioning

    result = runner("setup", "--image-file", str(image_file), "--size", "1M")

    assert_one_line_error(result)
    assert not image_file.exists()
    assert not mount_point.is_mount()
