"""NetworkConfig: the bridge, its subnet and shocker's iptables chain prefix, checked once."""

from __future__ import annotations

import re
from ipaddress import IPv4Interface

from shocker.errors import UsageError
from shocker.record import record
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from shocker.settings import Settings

# netdevice(7): interface names are at most IFNAMSIZ - 1 = 15 bytes.
_IFNAME = re.compile(r"[A-Za-z0-9_.-]{1,15}")
# xtables chain names are at most 28 characters; the longest suffix is "-POSTROUTING".
_PREFIX = re.compile(r"[A-Za-z0-9_]{1,16}")


@record(frozen=True)
class NetworkConfig:
    """Where containers are attached and how the host forwards their traffic."""

    bridge: str
    # The bridge's own address with the subnet's prefix length: the containers' gateway.
    gateway: IPv4Interface
    chain_prefix: str
    # IPAM state, published ports and locks.
    state_dir: Path

    def __post_init__(self) -> None:
        if not _IFNAME.fullmatch(self.bridge) or self.bridge in (".", ".."):
            raise UsageError(f"invalid bridge name {self.bridge!r}: 1-15 letters, digits, _.-")
        if not _PREFIX.fullmatch(self.chain_prefix):
            raise UsageError(
                f"invalid chain prefix {self.chain_prefix!r}: 1-16 letters, digits or _"
            )
        network = self.gateway.network
        if network.prefixlen > 30:
            raise UsageError(f"subnet {network} is too small: use a prefix of /30 or shorter")
        if self.gateway.ip in (network.network_address, network.broadcast_address):
            raise UsageError(f"{self.gateway} is not a host address of {network}")

    @classmethod
    def from_settings(cls, settings: Settings, state_dir: Path) -> NetworkConfig:
        """Raise UsageError for a malformed bridge name, subnet or chain prefix."""
        try:
            gateway = IPv4Interface(settings.subnet)
        except ValueError:
            raise UsageError(
                f"invalid subnet {settings.subnet!r}: give the bridge address and prefix, "
                "e.g. 10.0.0.1/24"
            ) from None
        return cls(settings.bridge, gateway, settings.chain_prefix, state_dir)

    @property
    def subnet(self) -> str:
        return str(self.gateway.network)

    @property
    def addresses_file(self) -> Path:
        """IPAM: container id -> address."""
        return self.state_dir / f"addresses-{self.bridge}.json"

    @property
    def ports_file(self) -> Path:
        """Published ports: which container holds which host port."""
        return self.state_dir / f"ports-{self.bridge}.json"
