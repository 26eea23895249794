"""A minimal rtnetlink(7) client: the few link, address and route messages shocker sends."""

from __future__ import annotations

import _socket
import os
import struct
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Interface
from typing import NamedTuple

# pyroute2 would do the same, but importing any part of it loads its whole package (asyncio,
# multiprocessing, NDB: ~105 ms here), several times the budget of a container start; these
# messages are a few structs (layouts from <linux/netlink.h>, <linux/rtnetlink.h>,
# <linux/if_link.h>, <linux/veth.h>). The C module `_socket` is used directly, as the runtime
# does: the `socket` module's enum set-up costs every start ~2 ms.

# <linux/netlink.h>
NLMSG_ERROR = 2
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
# <linux/rtnetlink.h>
RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_NEWADDR = 20
RTM_NEWROUTE = 24
RT_TABLE_MAIN = 254
RTPROT_BOOT = 3
RT_SCOPE_UNIVERSE = 0
RTN_UNICAST = 1
RTA_OIF = 4
RTA_GATEWAY = 5
# <linux/if_link.h>, <linux/if_addr.h>, <linux/veth.h>, <net/if.h>
IFLA_ADDRESS = 1
IFLA_IFNAME = 3
IFLA_MASTER = 10
IFLA_LINKINFO = 18
IFLA_NET_NS_PID = 19
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
VETH_INFO_PEER = 1
IFA_ADDRESS = 1
IFA_LOCAL = 2
IFA_BROADCAST = 4
IFF_UP = 0x1

_HEADER = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
_IFINFO = struct.Struct("=BxHiII")  # ifinfomsg: family, type, index, flags, change
_IFADDR = struct.Struct("=BBBBI")  # ifaddrmsg: family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # rtmsg
_ERROR = struct.Struct("=i")


class Message(NamedTuple):
    """One request: its type, extra NLM_F_* flags and payload (family header + attributes)."""

    type: int
    flags: int
    payload: bytes


def attr(kind: int, data: bytes) -> bytes:
    """An rtattr, padded to 4 bytes (RTA_ALIGN)."""
    length = 4 + len(data)
    return struct.pack("=HH", length, kind) + data + b"\0" * (-length % 4)


def _name(name: str) -> bytes:
    return name.encode() + b"\0"


def _mac(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def _ifinfo(index: int = 0, up: bool = False) -> bytes:
    return _IFINFO.pack(_socket.AF_UNSPEC, 0, index, IFF_UP if up else 0, IFF_UP if up else 0)


def new_bridge(name: str, mac: str) -> Message:
    """Create a bridge, up, with a fixed MAC: a bridge otherwise takes the lowest MAC of its
    ports, so its address would change as containers come and go and stale the containers'
    ARP entries for the gateway."""
    linkinfo = attr(IFLA_INFO_KIND, b"bridge")
    payload = (
        _ifinfo(up=True)
        + attr(IFLA_IFNAME, _name(name))
        + attr(IFLA_ADDRESS, _mac(mac))
        + attr(IFLA_LINKINFO, linkinfo)
    )
    return Message(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, payload)


def new_veth(name: str, master: int, peer_name: str, peer_mac: str, peer_pid: int) -> Message:
    """Create a veth pair: `name` up on bridge `master` here, `peer_name` created directly in
    the network namespace of `peer_pid` (as `ip link add ... peer name eth0 netns PID`)."""
    peer = (
        _ifinfo()
        + attr(IFLA_IFNAME, _name(peer_name))
        + attr(IFLA_ADDRESS, _mac(peer_mac))
        + attr(IFLA_NET_NS_PID, struct.pack("=I", peer_pid))
    )
    linkinfo = attr(IFLA_INFO_KIND, b"veth") + attr(IFLA_INFO_DATA, attr(VETH_INFO_PEER, peer))
    payload = (
        _ifinfo(up=True)
        + attr(IFLA_IFNAME, _name(name))
        + attr(IFLA_MASTER, struct.pack("=I", master))
        + attr(IFLA_LINKINFO, linkinfo)
    )
    return Message(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, payload)


def set_up(index: int) -> Message:
    return Message(RTM_NEWLINK, 0, _ifinfo(index, up=True))


def delete_link(name: str) -> Message:
    return Message(RTM_DELLINK, 0, _ifinfo() + attr(IFLA_IFNAME, _name(name)))


def delete_index(index: int) -> Message:
    return Message(RTM_DELLINK, 0, _ifinfo(index))


def add_address(index: int, interface: IPv4Interface) -> Message:
    local = interface.ip.packed
    payload = (
        _IFADDR.pack(_socket.AF_INET, interface.network.prefixlen, 0, RT_SCOPE_UNIVERSE, index)
        + attr(IFA_LOCAL, local)
        + attr(IFA_ADDRESS, local)
        + attr(IFA_BROADCAST, interface.network.broadcast_address.packed)
    )
    return Message(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, payload)


def add_default_route(index: int, gateway: IPv4Address) -> Message:
    header = _RTMSG.pack(
        _socket.AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0
    )
    payload = header + attr(RTA_GATEWAY, gateway.packed) + attr(RTA_OIF, struct.pack("=i", index))
    return Message(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, payload)


class Netlink:
    """A NETLINK_ROUTE socket. It acts on the network namespace it was created in, whatever
    namespace the calling thread is in later (netlink(7))."""

    def __init__(self) -> None:
        self._socket = _socket.socket(
            _socket.AF_NETLINK,
            _socket.SOCK_RAW | _socket.SOCK_CLOEXEC,
            0,  # NETLINK_ROUTE
        )
        self._socket.bind((0, 0))
        self._sequence = 0

    def __enter__(self) -> Netlink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._socket.close()

    def send(self, messages: Iterable[Message]) -> list[int]:
        """Send the messages in one datagram (the kernel handles them in order) and return
        each one's errno, 0 for success."""
        sequences: list[int] = []
        datagram = b""
        messages = list(messages)
        if not messages:
            return []
        for message in messages:
            self._sequence += 1
            sequences.append(self._sequence)
            flags = NLM_F_REQUEST | NLM_F_ACK | message.flags
            length = _HEADER.size + len(message.payload)
            datagram += _HEADER.pack(length, message.type, flags, self._sequence, 0)
            datagram += message.payload
        self._socket.send(datagram)
        results: dict[int, int] = {}
        while len(results) < len(sequences):
            data = self._socket.recv(65536)
            offset = 0
            while offset + _HEADER.size <= len(data):
                length, kind, _, sequence, _ = _HEADER.unpack_from(data, offset)
                if kind == NLMSG_ERROR and sequence in sequences:
                    (error,) = _ERROR.unpack_from(data, offset + _HEADER.size)
                    results[sequence] = -error
                offset += max((length + 3) & ~3, _HEADER.size)
        return [results[s] for s in sequences]

    def check(self, messages: Iterable[Message], what: str) -> None:
        """Send; raise OSError naming `what` on the first failure."""
        for error in self.send(messages):
            if error:
                raise OSError(error, f"{what}: {os.strerror(error)}")
