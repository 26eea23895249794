"""Named volumes: plain directories at `SHOCKER_ROOT/volumes/NAME`, kept across containers.

Whether a volume is in use is the engine's question (it knows the containers).
"""

from __future__ import annotations

import re
from pathlib import Path

from shocker.errors import NotFound, StorageError, UsageError
from shocker.store.layout import Layout

VALID_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


def check_volume_name(name: str) -> str:
    if not VALID_NAME.match(name):
        raise UsageError(f"invalid volume name '{name}': use letters, digits and _ . - (not first)")
    return name


class VolumeStore:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def path(self, name: str) -> Path:
        return self.layout.volume(check_volume_name(name))

    def ensure(self, name: str) -> Path:
        """The volume's directory, created if missing."""
        path = self.path(name)
        try:
            path.mkdir(mode=0o755, parents=True, exist_ok=True)
        except OSError as error:
            raise StorageError(f"cannot create volume '{name}': {error.strerror}") from error
        return path

    def exists(self, name: str) -> bool:
        return self.path(name).is_dir()

    def list(self) -> list[str]:
        try:
            return sorted(p.name for p in self.layout.volumes.iterdir() if p.is_dir())
        except FileNotFoundError:
            return []

    def remove(self, name: str) -> None:
        path = self.path(name)
        if not path.is_dir():
            raise NotFound(f"No volume named '{name}' exists")
        try:
            import shutil

            shutil.rmtree(path)
        except OSError as error:
            raise StorageError(f"cannot remove volume '{name}': {error.strerror}") from error
