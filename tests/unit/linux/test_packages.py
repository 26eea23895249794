"""Which package provides a host program, and where programs are looked for."""

from __future__ import annotations

import pytest

from shocker.linux.packages import APT, DNF, package_for, search_path


@pytest.mark.parametrize(
    ("program", "manager", "package"),
    [
        ("mkfs.btrfs", APT, "btrfs-progs"),
        ("/usr/sbin/mkfs.btrfs", APT, "btrfs-progs"),
        ("ip", APT, "iproute2"),
        ("ip", DNF, "iproute"),
        ("iptables", APT, "iptables"),
        ("iptables", DNF, "iptables-nft"),
        ("ps", DNF, "procps-ng"),
        ("unheard-of", APT, "unheard-of"),
    ],
)
def test_the_package_of_a_program(program: str, manager: str, package: str) -> None:
    assert package_for(program, manager) == package


def test_sbin_directories_are_added_to_a_path_without_any(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert search_path() == "/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"


def test_a_path_with_an_sbin_directory_is_searched_as_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/opt/tools/sbin")
    assert search_path() == "/opt/tools/sbin"
