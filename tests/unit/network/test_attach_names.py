"""MAC addresses and host veth names derived from a container."""

from __future__ import annotations

from ipaddress import IPv4Address

from hypothesis import given
from hypothesis import strategies as st

from shocker.network.attach import host_veth_name, mac_for


@given(st.integers(0, 2**32 - 1))
def test_every_mac_is_a_locally_administered_unicast_address(value: int) -> None:
    mac = mac_for(IPv4Address(value))
    octets = [int(part, 16) for part in mac.split(":")]
    assert len(octets) == 6
    assert octets[0] & 0b01 == 0  # I/G bit clear: unicast
    assert octets[0] & 0b10 == 0b10  # U/L bit set: locally administered


def test_the_mac_follows_the_address() -> None:
    assert mac_for(IPv4Address("10.0.0.2")) == "02:42:0a:00:00:02"


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=15))
def test_veth_names_fit_in_an_interface_name(container_id: str, bridge: str) -> None:
    name = host_veth_name(container_id, bridge)
    assert len(name.encode()) <= 15
    assert name.isascii()
    assert all(c.isalnum() or c == "-" for c in name)


def test_the_veth_name_shows_the_container_id() -> None:
    assert host_veth_name("ps-58122") == "vshk-58122"


def test_the_same_id_on_two_bridges_gives_two_names() -> None:
    names = {host_veth_name("ps-58122", b) for b in ("bridge0", "shkt1a2b", "shkt3c4d")}
    assert len(names) == 3
