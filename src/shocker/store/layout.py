"""Every path shocker owns under SHOCKER_ROOT, computed in one place.

Root filesystems stay where the original's users expect them (`ROOT/img-xxxxx`,
`ROOT/ps-xxxxx`, chroot-able); all metadata lives under `ROOT/.shocker`, never
inside a root filesystem.
"""

from __future__ import annotations

from pathlib import Path

from shocker.record import record


@record(frozen=True)
class Layout:
    root: Path

    @property
    def meta(self) -> Path:
        return self.root / ".shocker"

    # Root filesystems (btrfs subvolumes).
    def image_rootfs(self, image_id: str) -> Path:
        return self.root / image_id

    def container_rootfs(self, container_id: str) -> Path:
        return self.root / container_id

    # Content-addressed compressed blobs, committed only after their digest checks.
    @property
    def blobs(self) -> Path:
        return self.meta / "blobs"

    def blob(self, digest: str) -> Path:
        algorithm, _, hexpart = digest.partition(":")
        return self.blobs / algorithm / hexpart

    # Read-only layer subvolumes keyed by chain id (hex of sha256 chain id), and the
    # snapshots of pending layers (`pending:<key>` -> `pending-<key>`, store/pending.py).
    @property
    def layers(self) -> Path:
        return self.meta / "layers"

    def layer(self, chain_id: str) -> Path:
        kind, _, name = chain_id.partition(":")
        return self.layers / (name if kind == "sha256" else f"{kind}-{name}")

    # Records.
    @property
    def images(self) -> Path:
        return self.meta / "images"

    def image_record(self, image_id: str) -> Path:
        return self.images / f"{image_id}.json"

    @property
    def build_cache(self) -> Path:
        """One JSON record per cached build step, named by its cache key."""
        return self.meta / "buildcache"

    def build_cache_entry(self, key: str) -> Path:
        return self.build_cache / f"{key}.json"

    @property
    def containers(self) -> Path:
        return self.meta / "containers"

    def container_dir(self, container_id: str) -> Path:
        """state.json, config.json, the log and generated /etc files of one container."""
        return self.containers / container_id

    @property
    def volumes(self) -> Path:
        # Beside the images and containers, as users expect: SHOCKER_ROOT/volumes/NAME.
        return self.root / "volumes"

    def volume(self, name: str) -> Path:
        return self.volumes / name

    def volume_record(self, name: str) -> Path:
        """Whether the volume is anonymous, and when it was made (none: a named volume)."""
        return self.meta / "volumes" / f"{name}.json"

    @property
    def network(self) -> Path:
        """IPAM state and network locks."""
        return self.meta / "network"

    @property
    def registry_challenges(self) -> Path:
        """Each registry's last auth challenge, so the next pull answers it up front."""
        return self.meta / "registry-challenges.json"

    @property
    def locks(self) -> Path:
        return self.meta / "locks"

    def lock(self, name: str) -> Path:
        return self.locks / f"{name}.lock"

    @property
    def seccomp_cache(self) -> Path:
        """Compiled seccomp programs, named by their key (runtime/seccomp.py)."""
        return self.meta / "cache" / "seccomp"

    @property
    def tmp(self) -> Path:
        """Scratch on the same filesystem, so that finished work is renamed into place."""
        return self.meta / "tmp"
