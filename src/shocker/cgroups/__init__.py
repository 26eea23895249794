"""Per-container cgroups, v1 and v2 behind one interface; `detect` picks the host's."""

from __future__ import annotations

from pathlib import Path

from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.cgroups.driver import CgroupDriver


def detect(root: Path = Path("/sys/fs/cgroup")) -> CgroupDriver:
    """v2 when `root` is a cgroup2 mount, else v1 hierarchies under root/<controller>.

    One stat: only a cgroup2 root has cgroup.controllers (v1's root is a tmpfs of mounts).
    """
    if (root / "cgroup.controllers").exists():
        from shocker.cgroups.v2 import V2Driver

        return V2Driver(root)
    from shocker.cgroups.v1 import V1Driver

    return V1Driver(root)
