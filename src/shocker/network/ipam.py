"""IP address management: one address of the bridge's subnet per container, never shared."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from shocker.errors import Conflict, NetworkError, UsageError
from shocker.network import state
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.network.config import NetworkConfig

# `choose_address` is the pure decision; `allocate`/`release` are its locked shell over a JSON
# file mapping container id -> address in the network state directory.


def parse_requested(requested: str) -> IPv4Address:
    """`--ip` as an IPv4 address; UsageError otherwise."""
    try:
        return IPv4Address(requested.strip())
    except ValueError:
        raise UsageError(f"invalid --ip {requested!r}: expected an IPv4 address") from None


def check_requested(gateway: IPv4Interface, address: IPv4Address) -> None:
    """Conflict when `address` cannot be given to a container on this subnet."""
    network = gateway.network
    if address not in network:
        raise Conflict(f"address {address} is outside the subnet {network}")
    if address == network.network_address or address == network.broadcast_address:
        raise Conflict(f"address {address} is reserved in {network}")
    if address == gateway.ip:
        raise Conflict(f"address {address} is the gateway of {network}")


def choose_address(
    gateway: IPv4Interface, used: Collection[IPv4Address], requested: IPv4Address | None = None
) -> IPv4Address:
    """The requested address if it is free, else the lowest free host address.

    Lowest-first keeps addresses small and predictable; reusing a freed address is safe
    because the MAC is derived from the address, so neighbours' ARP entries stay right.
    """
    network: IPv4Network = gateway.network
    if requested is not None:
        check_requested(gateway, requested)
        if requested in used:
            raise Conflict(f"address {requested} is already in use")
        return requested
    for candidate in network.hosts():
        if candidate != gateway.ip and candidate not in used:
            return candidate
    raise NetworkError(f"no free address in {network}")


def _owners(entries: Mapping[str, str], network: IPv4Network) -> dict[IPv4Address, str]:
    """Address -> container for the entries that belong to this subnet (others are ignored:
    they were made with another SHOCKER_SUBNET)."""
    owners: dict[IPv4Address, str] = {}
    for owner, text in entries.items():
        try:
            address = IPv4Address(text)
        except ValueError:
            continue
        if address in network:
            owners[address] = owner
    return owners


def _reusable(
    gateway: IPv4Interface, own: str, used: Collection[IPv4Address]
) -> IPv4Address | None:
    """The container's earlier address when it is still valid and free (a restart keeps it)."""
    try:
        address = IPv4Address(own)
        check_requested(gateway, address)
    except (ValueError, Conflict):
        return None
    return None if address in used else address


def allocate(
    cfg: NetworkConfig,
    container_id: str,
    requested: str | None,
    live: Callable[[str], bool],
) -> IPv4Address:
    """Give `container_id` an address and record it; its own earlier address is kept.

    Entries of containers that are gone (`live` False) are reclaimed when their address is
    needed: the one requested, or any once the subnet is full. Asking `live` only then keeps
    this critical section short when many containers start at once. Raises UsageError for a
    malformed `requested`, Conflict when it is taken or not in the subnet, NetworkError when
    the subnet is full.
    """
    wanted = parse_requested(requested) if requested else None
    if wanted is not None:
        check_requested(cfg.gateway, wanted)
    path = cfg.addresses_file
    with state.locked(path):
        data = state.read(path)
        entries: dict[str, str] = {
            k: v for k, v in data.get("addresses", {}).items() if isinstance(v, str)
        }
        own = entries.pop(container_id, None)
        owners = _owners(entries, cfg.gateway.network)
        if wanted is not None and wanted in owners:
            holder = owners[wanted]
            if live(holder):
                raise Conflict(f"address {wanted} is already in use by {holder}")
            del entries[holder], owners[wanted]
        if wanted is None and own is not None:
            wanted = _reusable(cfg.gateway, own, owners.keys())
        try:
            address = choose_address(cfg.gateway, owners.keys(), wanted)
        except NetworkError:
            gone = [holder for holder in entries if not live(holder)]
            if not gone:
                raise
            for holder in gone:
                del entries[holder]
            address = choose_address(cfg.gateway, _owners(entries, cfg.gateway.network).keys())
        entries[container_id] = str(address)
        state.write(path, {"subnet": cfg.subnet, "addresses": entries})
    return address


def release(cfg: NetworkConfig, container_id: str) -> None:
    """Forget the container's address; nothing happens when it has none."""
    path = cfg.addresses_file
    if not path.exists():
        return
    with state.locked(path):
        data = state.read(path)
        entries = data.get("addresses", {})
        if container_id in entries:
            del entries[container_id]
            state.write(path, {"subnet": cfg.subnet, "addresses": entries})


def addresses(cfg: NetworkConfig) -> dict[str, str]:
    """Container id -> address as recorded (for `network inspect`)."""
    # Writers replace the file by rename, so an unlocked read sees a whole version.
    entries = state.read(cfg.addresses_file).get("addresses", {})
    return {k: v for k, v in entries.items() if isinstance(v, str)}
