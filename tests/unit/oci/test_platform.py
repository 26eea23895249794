from __future__ import annotations

import os

import pytest

from shocker.errors import UsageError
from shocker.oci.platform import Platform, host_platform, machine_platform, parse_platform


@pytest.mark.parametrize(
    ("machine", "expected"),
    [
        ("x86_64", "linux/amd64"),
        ("aarch64", "linux/arm64"),
        ("armv7l", "linux/arm/v7"),
        ("armv6l", "linux/arm/v6"),
        ("armv8l", "linux/arm/v8"),
        ("i686", "linux/386"),
        ("ppc64le", "linux/ppc64le"),
        ("s390x", "linux/s390x"),
        ("riscv64", "linux/riscv64"),
        ("sparc64", "linux/sparc64"),
    ],
)
def test_uname_machines_map_to_oci_architectures(machine: str, expected: str) -> None:
    assert str(machine_platform(machine)) == expected


def test_the_host_platform_follows_uname() -> None:
    assert host_platform() == machine_platform(os.uname().machine)
    assert host_platform().os == "linux"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("linux/arm64", Platform("linux", "arm64")),
        ("linux/arm/v7", Platform("linux", "arm", "v7")),
        ("linux/amd64", Platform("linux", "amd64")),
        ("linux/x86_64", Platform("linux", "amd64")),
        ("linux/armhf", Platform("linux", "arm", "v7")),
        ("arm64", Platform("linux", "arm64")),
    ],
)
def test_platform_flags_parse(text: str, expected: Platform) -> None:
    assert parse_platform(text) == expected


@pytest.mark.parametrize("text", ["", "linux/", "/amd64", "linux/arm/v7/x", "Linux/AMD64"])
def test_bad_platform_flags_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="os/arch"):
        parse_platform(text)


def test_arm_images_without_a_variant_mean_v7_and_arm64_means_v8() -> None:
    assert Platform("linux", "arm").normalized_variant() == "v7"
    assert Platform("linux", "arm64").normalized_variant() == "v8"
    assert Platform("linux", "amd64").normalized_variant() is None
