"""Platforms ("linux/arm64", "linux/arm/v7"): the host's, parsed ones, and their names."""

from __future__ import annotations

import os

from shocker.errors import UsageError
from shocker.record import record

# `uname -m` and common aliases -> (GOARCH, variant), as containerd's platforms package does.
_MACHINES: dict[str, tuple[str, str | None]] = {
    "x86_64": ("amd64", None),
    "x86-64": ("amd64", None),
    "amd64": ("amd64", None),
    "aarch64": ("arm64", None),
    "arm64": ("arm64", None),
    "armv8l": ("arm", "v8"),
    "armv7l": ("arm", "v7"),
    "armv7": ("arm", "v7"),
    "armhf": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
    "armv6": ("arm", "v6"),
    "armel": ("arm", "v6"),
    "armv5tel": ("arm", "v5"),
    "armv5l": ("arm", "v5"),
    "arm": ("arm", "v7"),
    "i386": ("386", None),
    "i486": ("386", None),
    "i586": ("386", None),
    "i686": ("386", None),
    "386": ("386", None),
    "ppc64le": ("ppc64le", None),
    "s390x": ("s390x", None),
    "riscv64": ("riscv64", None),
    "loongarch64": ("loong64", None),
    "mips64": ("mips64le", None),
}

# The variant an image means when it names none (containerd: arm -> v7, arm64 -> v8).
_DEFAULT_VARIANT = {"arm": "v7", "arm64": "v8"}


@record(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        base = f"{self.os}/{self.architecture}"
        return f"{base}/{self.variant}" if self.variant else base

    def normalized_variant(self) -> str | None:
        return self.variant or _DEFAULT_VARIANT.get(self.architecture)


def machine_platform(machine: str) -> Platform:
    """The platform of a `uname -m` value; unknown machines keep their own name."""
    arch, variant = _MACHINES.get(machine.lower(), (machine.lower(), None))
    return Platform("linux", arch, variant)


def host_platform() -> Platform:
    return machine_platform(os.uname().machine)


def parse_platform(text: str) -> Platform:
    """`os/arch[/variant]`, or a bare architecture meaning linux; UsageError otherwise."""
    parts = text.strip().split("/")
    if not all(parts) or len(parts) > 3 or text != text.lower():
        raise UsageError(
            f"invalid platform {text!r}: expected os/arch[/variant] in lowercase, "
            "such as linux/amd64 or linux/arm/v7"
        )
    if len(parts) == 1:
        parts = ["linux", *parts]
    os_name, machine = parts[0], parts[1]
    arch, implied = _MACHINES.get(machine, (machine, None))
    variant = parts[2] if len(parts) == 3 else None
    if machine != arch:
        # An alias such as armv7l or armhf also names the variant.
        variant = variant or implied
    return Platform(os_name, arch, variant)
