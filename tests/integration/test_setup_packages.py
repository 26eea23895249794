"""`shocker setup` and missing host programs: each is named with its package, and installed
with the host's package manager when allowed. The programs are hidden by a PATH of our own,
never removed from the host."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.assertions import assert_one_line_error
from tests.support.btrfs import remove_tree, unmount_and_detach
from tests.support.shocker import Shocker, which

PROGRAMS = ("mkfs.btrfs", "iptables", "ip", "mount")


def fake_path(directory: Path, *hidden: str) -> Path:
    """`directory/sbin` holding links to the host's PROGRAMS except `hidden`."""
    sbin = directory / "sbin"
    sbin.mkdir(parents=True)
    for program in PROGRAMS:
        if program not in hidden:
            real = which(program)
            assert real is not None, f"the host lacks {program}"
            (sbin / program).symlink_to(real)
    return sbin


@pytest.fixture
def plain_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    return root


def test_setup_no_install_names_the_package_of_a_missing_program(
    shocker: Shocker, tmp_path: Path, plain_root: Path
) -> None:
    sbin = fake_path(tmp_path, "mkfs.btrfs")
    hidden = shocker.with_env(PATH=str(sbin), SHOCKER_ROOT=str(plain_root))

    result = hidden("setup", "--no-install", "--image-file", str(tmp_path / "x.img"))

    assert_one_line_error(result, "mkfs.btrfs not found: install btrfs-progs")
    assert not (tmp_path / "x.img").exists()
    assert not plain_root.is_mount()


def test_setup_check_lists_each_missing_program_with_its_package(
    shocker: Shocker, tmp_path: Path, plain_root: Path
) -> None:
    sbin = fake_path(tmp_path, "mkfs.btrfs", "ip")
    result = shocker.with_env(PATH=str(sbin), SHOCKER_ROOT=str(plain_root))("setup", "--check")

    assert result.rc != 0
    assert "missing: mkfs.btrfs not found: install btrfs-progs" in result.lines
    assert "missing: ip not found: install iproute2" in result.lines
    assert not any("iptables" in line for line in result.lines)


def test_setup_without_a_package_manager_says_what_to_install(
    shocker: Shocker, tmp_path: Path, plain_root: Path
) -> None:
    sbin = fake_path(tmp_path, "iptables")
    result = shocker.with_env(PATH=str(sbin), SHOCKER_ROOT=str(plain_root))("setup")

    assert_one_line_error(result, "iptables not found: install iptables")
    assert "Traceback" not in result.err


@pytest.fixture
def mount_point(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A mount point and an image file beside it; unmounted and detached afterwards."""
    mount = tmp_path / "mnt"
    image_file = tmp_path / "shocker.img"
    try:
        yield mount, image_file
    finally:
        if mount.is_mount():
            remove_tree(mount / ".shocker")
        unmount_and_detach(mount, image_file)
        with contextlib.suppress(FileNotFoundError):
            image_file.unlink()


def test_setup_installs_a_missing_package_with_the_package_manager_then_provisions(
    shocker: Shocker, tmp_path: Path, mount_point: tuple[Path, Path]
) -> None:
    """apt-get here is a script that records its call and provides mkfs.btrfs as the
    package would: what shocker asks of it, and that it goes on once the program exists."""
    sbin = fake_path(tmp_path, "mkfs.btrfs")
    log = tmp_path / "apt.log"
    real_mkfs = which("mkfs.btrfs")
    assert real_mkfs is not None
    ln = shutil.which("ln") or "/bin/ln"
    (sbin / "apt-get").write_text(
        "#!/bin/sh\n"
        f'echo "$DEBIAN_FRONTEND $*" >> {log}\n'
        f'case "$*" in *"install"*btrfs-progs*) {ln} -s {real_mkfs} {sbin}/mkfs.btrfs;; esac\n'
    )
    (sbin / "apt-get").chmod(0o755)
    mount, image_file = mount_point
    runner = shocker.with_env(PATH=str(sbin), SHOCKER_ROOT=str(mount))

    result = runner("setup", "--image-file", str(image_file), "--size", "256M").check()

    assert log.read_text().splitlines() == [
        "noninteractive install -y -q --no-install-recommends btrfs-progs"
    ]
    assert "Installing btrfs-progs with apt-get" in result.lines
    assert f"Storage ready at {mount}" in result.lines
    fstype = subprocess.run(
        ["stat", "-f", "-c", "%T", str(mount)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert fstype == "btrfs"
