"""The host side, set up once and checked cheaply on every run: the bridge with the gateway
address, IPv4 forwarding, route_localnet on the bridge, and shocker's iptables chains.
"""

from __future__ import annotations

import _socket
import errno
import fcntl
import os
import struct
from ipaddress import IPv4Address
from pathlib import Path

from shocker.errors import NetworkError
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.network.config import NetworkConfig

_SYS_NET = Path("/sys/class/net")
_IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")
_SIOCGIFADDR = 0x8915  # netdevice(7)
_IFF_UP = 0x1

# When everything is in place the bridge carries a marker in its alias (ip link shows it as
# "alias shocker ..."), written last; the check on every run reads a few /sys and /proc files
# and starts no process. A host reboot removes the bridge, so the marker cannot outlive rules;
# rules flushed by hand (iptables -F) go unnoticed until `shocker network prune` and a new run.


def _marker(cfg: NetworkConfig) -> str:
    return f"shocker {cfg.chain_prefix} {cfg.gateway}"


def _route_localnet(bridge: str) -> Path:
    return Path(f"/proc/sys/net/ipv4/conf/{bridge}/route_localnet")


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _primary_address(name: str) -> IPv4Address | None:
    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM | _socket.SOCK_CLOEXEC)
    try:
        reply = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()))
    except OSError:
        return None
    finally:
        sock.close()
    return IPv4Address(reply[20:24])  # struct ifreq: name[16], sockaddr_in (family, port, addr)


def is_ready(cfg: NetworkConfig) -> bool:
    """Bridge up with the gateway address and the marker, forwarding and route_localnet on."""
    device = _SYS_NET / cfg.bridge
    if _read(device / "ifalias") != _marker(cfg):
        return False
    try:
        is_up = int(_read(device / "flags") or "0", 16) & _IFF_UP
    except ValueError:
        return False
    return bool(
        is_up
        and _read(_IP_FORWARD) == "1"
        and _read(_route_localnet(cfg.bridge)) == "1"
        and _primary_address(cfg.bridge) == cfg.gateway.ip
    )


def ensure_host_network(cfg: NetworkConfig) -> list[str]:
    """Create whatever is missing; return what was done, one human line each ([] if nothing).

    Raises NetworkError when a step fails (not root, a non-bridge device of that name...).
    """
    if is_ready(cfg):
        return []
    from shocker.network import state

    # Two first runs at once must not both add the iptables rules.
    with state.locked(cfg.state_dir / "host"):
        if is_ready(cfg):
            return []
        done = _ensure_bridge(cfg)
        done += _ensure_sysctls(cfg)
        done += _ensure_rules(cfg)
        _write(_SYS_NET / cfg.bridge / "ifalias", _marker(cfg))
    return done


def _write(path: Path, value: str) -> None:
    try:
        path.write_text(value + "\n")
    except OSError as error:
        raise NetworkError(f"cannot write {path}: {error.strerror}") from None


def _ensure_bridge(cfg: NetworkConfig) -> list[str]:
    from shocker.network import netlink
    from shocker.network.attach import mac_for

    done: list[str] = []
    device = _SYS_NET / cfg.bridge
    try:
        with netlink.Netlink() as link:
            if not device.exists():
                link.check([netlink.new_bridge(cfg.bridge, mac_for(cfg.gateway.ip))], "bridge")
                done.append(f"created bridge {cfg.bridge}")
            elif not (device / "bridge").is_dir():
                raise NetworkError(f"{cfg.bridge} exists and is not a bridge")
            index = _socket.if_nametoindex(cfg.bridge)
            added, up = link.send([netlink.add_address(index, cfg.gateway), netlink.set_up(index)])
            if added not in (0, errno.EEXIST):
                raise OSError(added, f"add {cfg.gateway}")
            if up:
                raise OSError(up, "set up")
    except OSError as error:
        raise NetworkError(f"cannot set up bridge {cfg.bridge}: {error.strerror}") from None
    if added == 0:
        done.append(f"added address {cfg.gateway} to bridge {cfg.bridge}")
    return done


def _ensure_sysctls(cfg: NetworkConfig) -> list[str]:
    done: list[str] = []
    if _read(_IP_FORWARD) != "1":
        _write(_IP_FORWARD, "1")
        done.append("enabled IPv4 forwarding (net.ipv4.ip_forward=1)")
    if _read(_route_localnet(cfg.bridge)) != "1":
        # Lets the host's own connections to 127.0.0.1:PORT be DNATed to a container
        # (ip-sysctl.rst: route_localnet); see firewall.py for why not a userland proxy.
        _write(_route_localnet(cfg.bridge), "1")
        done.append(f"enabled route_localnet on {cfg.bridge} (published ports on 127.0.0.1)")
    return done


def _ensure_rules(cfg: NetworkConfig) -> list[str]:
    from shocker.network import iptables, rules

    chains = rules.Chains(cfg.chain_prefix)
    saved = rules.parse_save(iptables.save())
    plan = rules.plan_additions(saved, rules.host_rules(cfg), chains)
    iptables.restore(plan)
    done = []
    for line in plan.splitlines():
        if line.startswith(":"):
            done.append(f"created iptables chain {line[1:].split()[0]}")
    added = sum(1 for line in plan.splitlines() if line.startswith(("-A ", "-I ")))
    if added:
        done.append(f"added {added} iptables rules for {cfg.subnet} on {cfg.bridge}")
    return done


def prune(cfg: NetworkConfig) -> list[str]:
    """Remove shocker's iptables chains (with every jump to them and published port) and the
    bridge; return what was removed. Forwarding is left on: other software may rely on it."""
    from shocker.network import iptables, netlink, rules, state
    from shocker.network.attach import VETH_PREFIX

    chains = rules.Chains(cfg.chain_prefix)
    done: list[str] = []
    with state.locked(cfg.state_dir / "host"):
        saved = rules.parse_save(iptables.save())
        plan = rules.plan_removal(saved, chains)
        iptables.restore(plan)
        done += [
            f"removed iptables chain {line[3:]}" for line in plan.splitlines() if line[:3] == "-X "
        ]
        if (_SYS_NET / cfg.bridge).exists():
            # Veths still on the bridge belong to containers whose namespace outlived them
            # (held by another process); other ports are not shocker's to delete.
            leftovers = [
                port.name
                for port in (_SYS_NET / cfg.bridge / "brif").iterdir()
                if port.name.startswith(VETH_PREFIX)
            ]
            with netlink.Netlink() as link:
                link.send([netlink.delete_link(name) for name in leftovers])
                done += [f"removed veth {name}" for name in leftovers]
                (error,) = link.send([netlink.delete_link(cfg.bridge)])
            if error not in (0, errno.ENODEV):
                raise NetworkError(f"cannot delete bridge {cfg.bridge}: {os.strerror(error)}")
            done.append(f"removed bridge {cfg.bridge}")
        # The published ports went with the chains.
        cfg.ports_file.unlink(missing_ok=True)
    return done
