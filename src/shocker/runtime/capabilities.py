"""Linux capabilities: names and numbers, Docker's default set, --cap-add/--cap-drop parsing,
and applying a set to the current process (bounding, effective/permitted/inheritable, ambient).
"""

from __future__ import annotations

from collections.abc import Iterable

from shocker.errors import UsageError
from shocker.oci.capabilities import CAPABILITY_NAMES

CAPABILITY_NUMBERS = {name: number for number, name in enumerate(CAPABILITY_NAMES)}

# Docker's default set (moby oci/caps/defaults.go); Podman's adds nothing to it by default.
DEFAULT_CAPABILITIES = frozenset(
    {
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE",
    }
)


def last_capability() -> int:
    """The kernel's highest capability number (/proc/sys/kernel/cap_last_cap)."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return min(int(f.read()), len(CAPABILITY_NAMES) - 1)
    except (OSError, ValueError):
        return len(CAPABILITY_NAMES) - 1


def bounding_mask() -> int | None:
    """This process's bounding set (CapBnd in /proc/self/status), or None if unreadable."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapBnd:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError, IndexError):
        return None
    return None


def _all_capabilities() -> frozenset[str]:
    """Every capability the kernel knows and this process may still grant: what
    --privileged and --cap-add ALL give (containerd and Podman take the same), since a set
    the engine does not hold makes runc and crun refuse to start the container."""
    known = CAPABILITY_NAMES[: last_capability() + 1]
    held = bounding_mask()
    if held is None:
        return frozenset(known)
    return frozenset(name for number, name in enumerate(known) if held & (1 << number))


ALL_CAPABILITIES = _all_capabilities()


def normalise(name: str) -> str:
    """`net_admin`, `NET_ADMIN`, `cap_net_admin` -> `CAP_NET_ADMIN`; `all` -> `ALL`."""
    upper = name.strip().upper()
    if upper == "ALL":
        return upper
    canonical = upper if upper.startswith("CAP_") else "CAP_" + upper
    if canonical not in CAPABILITY_NUMBERS:
        raise UsageError(f"unknown capability: {name!r}")
    return canonical


def effective_capabilities(add: Iterable[str], drop: Iterable[str]) -> frozenset[str]:
    """Docker's rule: start from the default set, drop (ALL empties it), then add (ALL: all)."""
    added = {normalise(n) for n in add}
    dropped = {normalise(n) for n in drop}
    result = set() if "ALL" in dropped else set(DEFAULT_CAPABILITIES - dropped)
    if "ALL" in added:
        return ALL_CAPABILITIES
    return frozenset(result | added)


def mask(names: Iterable[str]) -> int:
    """Capability names as a bit mask (bit n: capability number n)."""
    value = 0
    for name in names:
        value |= 1 << CAPABILITY_NUMBERS[name]
    return value
