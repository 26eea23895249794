"""Host programs shocker runs, the package that provides each, and installing them.

Package names per package manager: Debian and Ubuntu (apt-get), Fedora (dnf).
"""

from __future__ import annotations

import os
import shutil

from shocker.errors import ShockerError

APT = "apt-get"
DNF = "dnf"

# program: (Debian/Ubuntu package, Fedora package)
_PACKAGES: dict[str, tuple[str, str]] = {
    "mkfs.btrfs": ("btrfs-progs", "btrfs-progs"),
    "btrfs": ("btrfs-progs", "btrfs-progs"),
    "iptables": ("iptables", "iptables-nft"),
    "ip": ("iproute2", "iproute"),
    "mount": ("mount", "util-linux-core"),
    "umount": ("mount", "util-linux-core"),
    "losetup": ("mount", "util-linux-core"),
    "cp": ("coreutils", "coreutils"),
    "ps": ("procps", "procps-ng"),
    "runc": ("runc", "runc"),
    "crun": ("crun", "crun"),
}

# What `shocker setup` makes sure of: storage, firewall rules, network inspection.
REQUIRED = ("mkfs.btrfs", "iptables", "ip")

# sudo and `su` without `-` often leave the sbin directories out of PATH.
SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def search_path() -> str:
    """PATH, with the sbin directories added when it names none of them."""
    path = os.environ.get("PATH", "")
    entries = [entry.rstrip("/") for entry in path.split(":") if entry]
    if any(entry.endswith("/sbin") for entry in entries):
        return path
    return ":".join([*entries, *SBIN])


def which(program: str) -> str | None:
    return shutil.which(program, path=search_path())


def package_manager() -> str | None:
    """apt-get or dnf, whichever this host has (None: neither)."""
    for manager in (APT, DNF):
        if which(manager) is not None:
            return manager
    return None


def package_for(program: str, manager: str | None = None) -> str:
    """The package that installs `program` (Debian's name unless the host has dnf)."""
    name = program.rpartition("/")[2]
    names = _PACKAGES.get(name)
    if names is None:
        return name
    chosen = manager if manager is not None else package_manager()
    return names[1] if chosen == DNF else names[0]


def not_found(program: str) -> str:
    """`mkfs.btrfs not found: install btrfs-progs`."""
    return f"{program} not found: install {package_for(program)}"


def missing_programs(programs: tuple[str, ...] = REQUIRED) -> list[str]:
    """The programs of `programs` that are not on the search path."""
    return [program for program in programs if which(program) is None]


def install(manager: str, packages: list[str]) -> None:
    """Install `packages` with `manager`, non-interactively; ShockerError naming them."""
    from shocker.linux.commands import run

    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", "PATH": search_path()}
    if manager == APT:
        command = [APT, "install", "-y", "-q", "--no-install-recommends", *packages]
        try:
            run(command, what=f"apt-get install {' '.join(packages)}", env=env)
            return
        except ShockerError:
            # A fresh host may have no package lists yet.
            run([APT, "update", "-q"], what="apt-get update", env=env)
        run(command, what=f"apt-get install {' '.join(packages)}", env=env)
    else:
        run([DNF, "install", "-y", *packages], what=f"dnf install {' '.join(packages)}", env=env)
