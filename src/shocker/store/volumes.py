"""Volumes: plain directories at `SHOCKER_ROOT/volumes/NAME`, kept across containers.

A volume made for an image's `VOLUME` is anonymous (a random 64-hex name, as Docker's), noted
in its record `.shocker/volumes/NAME.json`; `volume prune` removes only those unless `-a`.
Whether a volume is in use is the engine's question (it knows the containers).
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

from shocker.errors import NotFound, StorageError, UsageError
from shocker.store.atomic import read_json, write_json_atomic
from shocker.store.layout import Layout

# Compiled on first use, not at import (see shocker.store.containers).
VALID_NAME = r"[a-zA-Z0-9][a-zA-Z0-9_.-]*"


def check_volume_name(name: str) -> str:
    if not re.fullmatch(VALID_NAME, name):
        raise UsageError(f"invalid volume name '{name}': use letters, digits and _ . - (not first)")
    return name


class VolumeStore:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def path(self, name: str) -> Path:
        return self.layout.volume(check_volume_name(name))

    def ensure(self, name: str) -> Path:
        """The volume's directory, created if missing."""
        return self.create(name)[0]

    def create(self, name: str, anonymous: bool = False) -> tuple[Path, bool]:
        """The volume's directory and whether it was made now (mkdir: one creator wins)."""
        path = self.path(name)
        if anonymous and not path.exists():
            # The record first: a volume is never seen as named for a moment, then anonymous.
            from shocker.store.records import now

            record = self.layout.volume_record(name)
            record.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomic(record, {"name": name, "anonymous": True, "created": now()})
        try:
            path.parent.mkdir(mode=0o755, exist_ok=True)
            path.mkdir(mode=0o755)
        except FileExistsError:
            return path, False
        except OSError as error:
            raise StorageError(f"cannot create volume '{name}': {error.strerror}") from error
        return path, True

    def create_anonymous(self) -> tuple[str, Path]:
        """A new anonymous volume: its name and directory."""
        import os

        while True:
            name = os.urandom(32).hex()
            path, made = self.create(name, anonymous=True)
            if made:
                return name, path

    def fill_from(self, name: str, rootfs: Path, destination: str) -> bool:
        """Copy the image's directory `destination` into the volume if the volume is empty
        (Docker's and podman's copy-up): contents, owners, modes, xattrs and the directory's
        own owner and mode. Whether anything was copied.

        `destination` is resolved inside `rootfs` (a symlink in the image cannot lead out),
        and cp reads through that descriptor.
        """
        import os

        from shocker.linux.inroot import fd_path, open_in_root, open_root

        volume = self.path(name)
        with os.scandir(volume) as entries:
            if any(True for _ in entries):
                return False
        root_fd = open_root(str(rootfs))
        try:
            try:
                source = open_in_root(root_fd, destination)
            except OSError:
                return False  # nothing there in the image: the volume stays empty
        finally:
            os.close(root_fd)
        try:
            if not stat.S_ISDIR(os.fstat(source).st_mode):
                return False
            _copy_tree(fd_path(source), volume, source)
        finally:
            os.close(source)
        return True

    def is_anonymous(self, name: str) -> bool:
        try:
            return bool(
                read_json(self.layout.volume_record(check_volume_name(name))).get("anonymous")
            )
        except (FileNotFoundError, StorageError, AttributeError):
            return False

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
        self.layout.volume_record(name).unlink(missing_ok=True)


def _copy_tree(source: str, volume: Path, source_fd: int) -> None:
    # cp -a keeps owners, modes, links, devices and xattrs and gives `volume` the source
    # directory's own; --reflink shares extents (volumes live on the same btrfs).
    import subprocess  # here: not on the start path of every `run`

    done = subprocess.run(
        ["cp", "-a", "--reflink=auto", f"{source}/.", f"{volume}/"],
        capture_output=True,
        text=True,
        check=False,
        pass_fds=(source_fd,),
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        reason = lines[-1] if lines else f"cp exited with {done.returncode}"
        raise StorageError(f"cannot fill volume '{volume.name}': {reason}")
