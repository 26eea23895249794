"""`shocker-runtime features`: what this runtime implements (runtime-spec features.md)."""

from __future__ import annotations

from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


def features() -> dict[str, Any]:
    from shocker.oci.capabilities import CAPABILITY_NAMES
    from shocker.oci.runtime_spec import OCI_VERSION
    from shocker.oci.seccomp import ACTIONS, ARCHITECTURES, OPERATORS
    from shocker.runtime.plan import oci_mount_options

    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": OCI_VERSION,
        "hooks": [],
        "mountOptions": oci_mount_options(),
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"],
            "capabilities": list(CAPABILITY_NAMES),
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False},
            "seccomp": {
                "enabled": True,
                "actions": sorted(ACTIONS),
                "operators": sorted(OPERATORS),
                "archs": sorted(ARCHITECTURES),
            },
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
        },
    }
