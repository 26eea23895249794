"""A throwaway btrfs filesystem on a sparse loop file; removal of trees holding subvolumes."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path


def _run(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def loop_devices_backed_by(image_file: Path) -> list[str]:
    """Loop devices whose backing file is `image_file` (losetup -j)."""
    out = subprocess.run(
        ["losetup", "-j", str(image_file)], capture_output=True, text=True, check=False
    ).stdout
    return [line.split(":", 1)[0] for line in out.splitlines() if line.strip()]


def unmount_and_detach(mount_point: Path, image_file: Path) -> None:
    """Unmount `mount_point` (if mounted) and free every loop device of `image_file`."""
    if mount_point.is_mount():
        # A lazy unmount still frees the mount point when a stray process holds a file open;
        # the loop device is released once the last user goes.
        result = subprocess.run(["umount", str(mount_point)], capture_output=True, check=False)
        if result.returncode != 0:
            subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, check=False)
    for device in loop_devices_backed_by(image_file):
        subprocess.run(["losetup", "-d", device], capture_output=True, check=False)
    # The kernel frees an autoclear loop device (mount -o loop) after its last close, a moment
    # after umount returns: wait for it rather than report a device that is on its way out.
    deadline = time.monotonic() + 10
    while loop_devices_backed_by(image_file) and time.monotonic() < deadline:
        time.sleep(0.05)


@contextlib.contextmanager
def loop_btrfs(workdir: Path, size: str = "4G") -> Iterator[Path]:
    """Mount a fresh btrfs at `workdir/mnt` (sparse file `workdir/btrfs.img`); yield the mount."""
    image_file = workdir / "btrfs.img"
    mount_point = workdir / "mnt"
    mount_point.mkdir(parents=True, exist_ok=True)
    _run("truncate", "-s", size, str(image_file))
    try:
        _run("mkfs.btrfs", "-q", str(image_file))
        _run("mount", "-o", "loop", str(image_file), str(mount_point))
        yield mount_point
    finally:
        unmount_and_detach(mount_point, image_file)
        image_file.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            mount_point.rmdir()


def subvolumes_under(directory: Path) -> list[Path]:
    """Subvolumes inside `directory` (any depth), deepest first, found by inode number 256."""
    found: list[Path] = []
    if not directory.exists():
        return found
    for path in directory.rglob("*"):
        # The root directory of every btrfs subvolume has inode 256 (BTRFS_FIRST_FREE_OBJECTID).
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink() and path.stat().st_ino == 256:
                found.append(path)
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def remove_tree(directory: Path) -> None:
    """Delete `directory` even when it holds (read-only, nested) subvolumes."""
    if not directory.exists():
        return
    for subvolume in subvolumes_under(directory):
        subprocess.run(
            ["btrfs", "property", "set", "-ts", str(subvolume), "ro", "false"],
            capture_output=True,
            check=False,
        )
        subprocess.run(
            ["btrfs", "subvolume", "delete", str(subvolume)], capture_output=True, check=False
        )
    if directory.exists():
        if directory.stat().st_ino == 256:
            subprocess.run(
                ["btrfs", "subvolume", "delete", str(directory)], capture_output=True, check=False
            )
        shutil.rmtree(directory, ignore_errors=True)
