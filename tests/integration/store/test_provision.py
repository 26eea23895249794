"""`shocker setup` provisioning against a tmp image file and mount point (then unmounted)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from shocker.settings import Settings
from shocker.store import provision
from shocker.store.btrfs import is_btrfs
from tests.support.btrfs import loop_devices_backed_by, unmount_and_detach
from tests.support.prereqs import have, require


@pytest.fixture
def target(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    require(os.geteuid() == 0, "provisioning needs root")
    require(have("mkfs.btrfs"), "provisioning needs btrfs-progs")
    image_file, root = tmp_path / "images" / "shocker.img", tmp_path / "shocker"
    try:
        yield image_file, root
    finally:
        unmount_and_detach(root, image_file)
        assert not root.is_mount()
        assert loop_devices_backed_by(image_file) == []


def test_provision_creates_formats_and_mounts_then_is_idempotent(
    target: tuple[Path, Path], tmp_path: Path
) -> None:
    image_file, root = target
    fstab = tmp_path / "fstab"
    fstab.write_text("# static file system information\n/dev/vda / ext4 defaults 0 1\n")
    said: list[str] = []
    settings = Settings(root=root)

    provision.provision(settings, image_file, "256M", False, said.append, fstab=fstab)
    assert is_btrfs(root)
    assert image_file.stat().st_size == 256 << 20
    assert image_file.stat().st_blocks * 512 < 256 << 20  # sparse
    assert (root / ".shocker" / "images").is_dir()
    assert [line.split()[0] for line in said] == ["Created", "Formatted", "Mounted", "Storage"]
    assert "missing" not in " ".join(provision.check(settings))

    said.clear()
    provision.provision(settings, image_file, "256M", True, said.append, fstab=fstab)
    provision.provision(settings, image_file, "256M", True, said.append, fstab=fstab)
    assert said[0] == f"{root} is already a btrfs filesystem"
    entries = [line for line in fstab.read_text().splitlines() if str(root) in line]
    assert entries == [f"{image_file} {root} btrfs loop 0 0"]
    assert f"{fstab} already mounts {root}" in said


def test_provision_reuses_an_existing_formatted_image_file(
    target: tuple[Path, Path], tmp_path: Path
) -> None:
    image_file, root = target
    said: list[str] = []
    provision.provision(Settings(root=root), image_file, "256M", False, said.append)
    unmount_and_detach(root, image_file)
    said.clear()
    provision.provision(Settings(root=root), image_file, "256M", False, said.append)
    assert said[0] == f"Mounted {image_file} at {root}"
    assert is_btrfs(root)


def test_check_lists_unprovisioned_storage(tmp_path: Path) -> None:
    missing = provision.check(Settings(root=tmp_path / "nowhere"))
    assert missing == [
        f"storage: {tmp_path / 'nowhere'} is not a btrfs filesystem (run 'shocker setup')"
    ]
