"""Bytes used by trees that share files: what `system df` and the prune commands report.

Images, their layers and their containers are btrfs snapshots of one another; a snapshot keeps
each file's inode number, size and timestamps, so a file met again with the same identity is
data already counted (the same shared extents). Sizes are apparent sizes of regular files and
symlinks, as Docker reports a layer's size.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path


class SharedUsage:
    """Counts each file once across every tree added to it."""

    def __init__(self) -> None:
        self._seen: set[tuple[int, int, int, int]] = set()

    def add(self, tree: Path) -> int:
        """Bytes of the files under `tree` not counted before (0 if `tree` is missing)."""
        total = 0
        pending = [str(tree)]
        while pending:
            directory = pending.pop()
            try:
                listing = os.scandir(directory)
            except (FileNotFoundError, NotADirectoryError, PermissionError):
                continue
            with listing:
                for entry in listing:
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue
                    if stat.S_ISDIR(info.st_mode):
                        pending.append(entry.path)
                        continue
                    identity = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
                    if identity not in self._seen:
                        self._seen.add(identity)
                        total += info.st_size
        return total

    def copy(self) -> SharedUsage:
        """A counter that has seen what this one has (each then goes on alone)."""
        twin = SharedUsage()
        twin._seen = set(self._seen)
        return twin

    def add_all(self, trees: Iterable[Path]) -> int:
        return sum(self.add(tree) for tree in trees)


def tree_size(tree: Path) -> int:
    """Bytes of the files under `tree`, each hard-linked file once."""
    return SharedUsage().add(tree)


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
