"""A btrfs filesystem on a loop file for the store's tests, and a fresh Store per test."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from shocker.settings import Settings
from shocker.store import btrfs
from shocker.store.store import Store
from tests.support.btrfs import loop_btrfs
from tests.support.prereqs import have, require


@pytest.fixture(scope="session")
def store_btrfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A 2 GB sparse btrfs, mounted for the session, unmounted and detached at the end."""
    require(os.geteuid() == 0, "store integration tests need root")
    require(have("mkfs.btrfs"), "store integration tests need btrfs-progs")
    with loop_btrfs(tmp_path_factory.mktemp("store") / "btrfs", size="2G") as mount:
        yield mount


@pytest.fixture
def scratch_dir(store_btrfs: Path) -> Iterator[Path]:
    """An empty directory on the btrfs, deleted with any subvolumes in it afterwards."""
    directory = store_btrfs / f"t-{secrets.token_hex(4)}"
    directory.mkdir()
    try:
        yield directory
    finally:
        btrfs.delete_subvolume(directory)
        assert not directory.exists()


@pytest.fixture
def store(scratch_dir: Path) -> Store:
    root = scratch_dir / "root"
    root.mkdir()
    return Store.open(Settings(root=root))
