"""`shocker setup`: btrfs storage at SHOCKER_ROOT from a sparse image file, loop-mounted.

The same steps the original's README lists by hand (truncate, mkfs.btrfs, mount -o loop),
each taken only when needed, so running it twice changes nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from shocker.errors import ShockerError, StorageError, UsageError
from shocker.settings import Settings
from shocker.store.btrfs import is_btrfs

# The btrfs superblock sits at 64 KiB; its magic "_BHRfS_M" at offset 0x40 in it.
_SUPERBLOCK_MAGIC_OFFSET = 0x10040
_SUPERBLOCK_MAGIC = b"_BHRfS_M"
# mkfs.btrfs refuses smaller devices (the minimum is about 109 MiB with default options).
MIN_SIZE_BYTES = 128 << 20
_SIZE = re.compile(r"^(\d+)([KMGT]?)(i?B)?$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """`10G`, `512M`, `1T`, `1048576` (binary units, as truncate(1)) -> bytes."""
    match = _SIZE.match(text.strip())
    if not match:
        raise UsageError(f"invalid size '{text}': use a number with K, M, G or T")
    shift = {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[match.group(2).upper()]
    size = int(match.group(1)) << shift
    if size < MIN_SIZE_BYTES:
        raise UsageError(f"size '{text}' is too small for btrfs (at least 128M)")
    return size


def _which(program: str) -> str | None:
    from shocker.linux.packages import which

    return which(program)


def check(settings: Settings) -> list[str]:
    """What is missing for shocker to work, one line each; empty when ready."""
    from shocker.linux.packages import missing_programs, not_found

    missing = [not_found(program) for program in missing_programs()]
    if not is_btrfs(settings.root):
        missing.append(f"storage: {settings.root} is not a btrfs filesystem (run 'shocker setup')")
    return missing


def ensure_host_programs(install_allowed: bool, say: Callable[[str], None]) -> None:
    """Install the packages of missing host programs (mkfs.btrfs, iptables, ip) with the
    host's package manager when allowed (root, no --no-install); otherwise, or when that
    fails to provide them, one error naming each program's package."""
    from shocker.linux.packages import (
        install,
        missing_programs,
        not_found,
        package_for,
        package_manager,
    )

    missing = missing_programs()
    if not missing:
        return
    manager = package_manager() if install_allowed else None
    if manager is None:
        hint = "no apt-get or dnf found to install it" if install_allowed else None
        if not install_allowed and os.geteuid() != 0:
            hint = "run 'shocker setup' as root to install it"
        raise ShockerError("; ".join(not_found(program) for program in missing), hint=hint)
    packages = list(dict.fromkeys(package_for(program, manager) for program in missing))
    say(f"Installing {' '.join(packages)} with {manager}")
    install(manager, packages)
    still = missing_programs()
    if still:
        raise ShockerError("; ".join(not_found(program) for program in still))


def has_btrfs_signature(image_file: Path) -> bool:
    try:
        with open(image_file, "rb") as file:
            file.seek(_SUPERBLOCK_MAGIC_OFFSET)
            return file.read(len(_SUPERBLOCK_MAGIC)) == _SUPERBLOCK_MAGIC
    except OSError:
        return False


def provision(
    settings: Settings,
    image_file: Path,
    size: str,
    persist: bool,
    say: Callable[[str], None],
    fstab: Path = Path("/etc/fstab"),
) -> None:
    """Make settings.root a btrfs filesystem, saying each step taken."""
    from shocker.linux.commands import run

    root = settings.root
    if is_btrfs(root):
        say(f"{root} is already a btrfs filesystem")
    else:
        if not image_file.exists():
            size_bytes = parse_size(size)
            image_file.parent.mkdir(parents=True, exist_ok=True)
            with open(image_file, "xb") as file:
                file.truncate(size_bytes)  # sparse: blocks are allocated as btrfs writes
            say(f"Created sparse file {image_file} ({size})")
        if not has_btrfs_signature(image_file):
            mkfs = _which("mkfs.btrfs") or "mkfs.btrfs"
            run([mkfs, "-q", str(image_file)], error=StorageError, what="mkfs.btrfs")
            say(f"Formatted {image_file} as btrfs")
        root.mkdir(parents=True, exist_ok=True)
        run(
            ["mount", "-o", "loop", str(image_file), str(root)],
            error=StorageError,
            what=f"cannot mount {image_file} at {root}",
        )
        say(f"Mounted {image_file} at {root}")
    if persist:
        _persist(fstab, image_file, root, say)
    from shocker.store.store import Store

    Store.open(settings)
    say(f"Storage ready at {root}")


def _persist(fstab: Path, image_file: Path, root: Path, say: Callable[[str], None]) -> None:
    try:
        lines = fstab.read_text().splitlines()
    except FileNotFoundError:
        lines = []
    for line in lines:
        fields = line.split()
        if fields and not fields[0].startswith("#") and len(fields) > 1 and fields[1] == str(root):
            say(f"{fstab} already mounts {root}")
            return
    entry = f"{image_file} {root} btrfs loop 0 0\n"
    try:
        with open(fstab, "a") as file:
            if lines and not fstab.read_text().endswith("\n"):
                file.write("\n")
            file.write(entry)
    except OSError as error:
        raise StorageError(f"cannot update {fstab}: {error.strerror}") from error
    say(f"Added to {fstab}: {entry.strip()}")
