"""rtnetlink messages: attribute layout, and requests answered with the kernel's ack."""

from __future__ import annotations

import errno
import struct

from shocker.network import netlink


def attributes(data: bytes) -> dict[int, bytes]:
    """Parse a run of rtattrs (as the kernel does: length, type, payload, 4-byte padding)."""
    found = {}
    offset = 0
    while offset < len(data):
        length, kind = struct.unpack_from("=HH", data, offset)
        found[kind] = data[offset + 4 : offset + length]
        offset += (length + 3) & ~3
    return found


def test_attributes_are_padded_to_four_bytes() -> None:
    encoded = netlink.attr(netlink.IFLA_IFNAME, b"eth0\0")
    assert len(encoded) == 12
    assert struct.unpack_from("=HH", encoded) == (9, netlink.IFLA_IFNAME)


def test_a_veth_request_creates_the_peer_in_the_target_namespace() -> None:
    message = netlink.new_veth("vshk-12345", 7, "eth0", "02:42:0a:00:00:02", 4242)
    assert message.type == netlink.RTM_NEWLINK
    assert message.flags & netlink.NLM_F_CREATE and message.flags & netlink.NLM_F_EXCL
    outer = attributes(message.payload[16:])
    assert outer[netlink.IFLA_IFNAME] == b"vshk-12345\0"
    assert struct.unpack("=I", outer[netlink.IFLA_MASTER]) == (7,)
    info = attributes(outer[netlink.IFLA_LINKINFO])
    assert info[netlink.IFLA_INFO_KIND] == b"veth"
    peer = attributes(attributes(info[netlink.IFLA_INFO_DATA])[netlink.VETH_INFO_PEER][16:])
    assert peer[netlink.IFLA_IFNAME] == b"eth0\0"
    assert peer[netlink.IFLA_ADDRESS] == bytes.fromhex("02420a000002")
    assert struct.unpack("=I", peer[netlink.IFLA_NET_NS_PID]) == (4242,)


def test_sending_nothing_sends_nothing() -> None:
    with netlink.Netlink() as link:
        assert link.send([]) == []


def test_each_request_gets_its_own_answer() -> None:
    with netlink.Netlink() as link:
        results = link.send(
            [netlink.delete_link("shkt-none-0"), netlink.delete_link("shkt-none-1")]
        )
    # Without root the kernel refuses; with root there is no such device.
    assert len(results) == 2
    assert all(result in (errno.ENODEV, errno.EPERM) for result in results)
