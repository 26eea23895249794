"""Skip, or fail under SHOCKER_TEST_STRICT=1, when the host lacks what a test needs.

CI sets the variable so that it can never go green by skipping.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

STRICT_ENV = "SHOCKER_TEST_STRICT"
SBIN_PATH = "/usr/local/sbin:/usr/sbin:/sbin"


def is_strict() -> bool:
    return os.environ.get(STRICT_ENV, "") not in ("", "0")


def require(condition: bool, reason: str) -> None:
    """Skip the test when `condition` is false; fail it instead in strict mode."""
    if condition:
        return
    if is_strict():
        pytest.fail(f"missing prerequisite ({STRICT_ENV}=1): {reason}", pytrace=False)
    pytest.skip(reason)


def have(program: str) -> bool:
    return shutil.which(program, path=f"{os.environ.get('PATH', '')}:{SBIN_PATH}") is not None


def integration_missing() -> list[str]:
    """What the integration suite needs and this host lacks."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (integration tests mount filesystems and create namespaces)")
    for program, package in [
        ("mkfs.btrfs", "btrfs-progs"),
        ("btrfs", "btrfs-progs"),
        ("losetup", "mount"),
        ("docker-registry", "docker-registry"),
        ("htpasswd", "apache2-utils"),
        ("openssl", "openssl"),
        ("iptables", "iptables"),
    ]:
        if not have(program):
            missing.append(f"{program} (apt install {package})")
    if not Path("/bin/busybox").exists():
        missing.append("/bin/busybox (apt install busybox-static)")
    return missing
