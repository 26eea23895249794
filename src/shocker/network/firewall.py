"""Published ports (`-p`): DNAT rules in shocker's chains tagged with the container id, and a
claims file saying which container holds which host port.

From the host itself (127.0.0.1:PORT and its other addresses) we DNAT in OUTPUT, with
route_localnet on the bridge and a MASQUERADE of loopback sources, instead of Docker's
userland proxy: shocker has no daemon to keep a proxy per port, the kernel forwards at full
speed instead of copying every byte through a process, the rules are visible with
`iptables -S` beside the others and go away with them. The known hole of route_localnet
(containers reaching the host's loopback services, CVE-2020-8558) is closed by a DROP in
shocker's INPUT chain (see rules.host_rules).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from shocker.errors import Conflict, UsageError
from shocker.network import state
from shocker.network.ports import PortMapping
from shocker.record import asdict, replace

if TYPE_CHECKING:
    from shocker.network.config import NetworkConfig

# Attempts at a kernel-chosen free port that no other container holds.
_PICK_ATTEMPTS = 64


def _clash(a: PortMapping, b: PortMapping) -> bool:
    same_port = a.host_port == b.host_port and a.protocol == b.protocol
    return same_port and (not a.host_ip or not b.host_ip or a.host_ip == b.host_ip)


def _bind(mapping: PortMapping) -> int:
    """Bind a socket like a host service would and return its port; OSError when in use.

    SO_REUSEADDR makes a TCP bind fail only for a listening socket, not for connections
    lingering in TIME_WAIT (socket(7)).
    """
    import socket

    kind = socket.SOCK_STREAM if mapping.protocol == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as sock:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((mapping.host_ip or "0.0.0.0", mapping.host_port))
        port: int = sock.getsockname()[1]
        return port


def _host_allows(mapping: PortMapping) -> int | None:
    """The port a bind got, or None when the host already uses it."""
    try:
        return _bind(mapping)
    except OSError as error:
        if error.errno == errno.EADDRNOTAVAIL:
            raise UsageError(f"{mapping.host_ip} is not an address of this host") from None
        if error.errno == errno.EADDRINUSE:
            return None
        raise


class Claim(NamedTuple):
    """A host port held by a container, and the process that published it: while that
    process lives the container's start is in flight, even before it counts as running."""

    owner: str
    mapping: PortMapping
    publisher: int = 0
    publisher_start: int | None = None

    def is_in_flight(self) -> bool:
        from shocker.linux.proc import is_alive

        return self.publisher > 0 and is_alive(self.publisher, self.publisher_start)


def _reserve(
    mapping: PortMapping,
    claims: list[Claim],
    taken: Callable[[int, str], bool],
    stale: set[str],
) -> PortMapping:
    """`mapping` with a real host port that no container and no host service holds.

    A clashing claim whose container neither runs (`taken`) nor is being started is left
    from a crash: its owner goes into `stale` instead of blocking the port.
    """
    name = f"{mapping.host_port}/{mapping.protocol}"
    if mapping.host_port:
        for claim in claims:
            if _clash(mapping, claim.mapping):
                if taken(mapping.host_port, mapping.protocol) or claim.is_in_flight():
                    raise Conflict(f"port {name} is already published by {claim.owner}")
                stale.add(claim.owner)
        if taken(mapping.host_port, mapping.protocol):
            raise Conflict(f"port {name} is already published by another container")
        if _host_allows(mapping) is None:
            raise Conflict(f"port {name} is already in use on the host")
        return mapping
    for _ in range(_PICK_ATTEMPTS):
        port = _host_allows(mapping)
        if port is None:
            continue
        candidate = replace(mapping, host_port=port)
        if not taken(port, mapping.protocol) and not any(
            _clash(candidate, claim.mapping) for claim in claims
        ):
            return candidate
    raise Conflict(f"no free host port for {mapping.container_port}/{mapping.protocol}")


def _read_claims(cfg: NetworkConfig) -> list[Claim]:
    claims = []
    for entry in state.read(cfg.ports_file).get("ports", []):
        try:
            claims.append(
                Claim(
                    entry["container"],
                    PortMapping(
                        entry["host_ip"],
                        entry["host_port"],
                        entry["container_port"],
                        entry["protocol"],
                    ),
                    entry.get("publisher", 0),
                    entry.get("publisher_start"),
                )
            )
        except (KeyError, TypeError):
            continue
    return claims


def _write_claims(cfg: NetworkConfig, claims: list[Claim]) -> None:
    entries: list[dict[str, Any]] = [
        {
            "container": claim.owner,
            **asdict(claim.mapping),
            "publisher": claim.publisher,
            "publisher_start": claim.publisher_start,
        }
        for claim in claims
    ]
    state.write(cfg.ports_file, {"ports": entries})


def _delete_rules(cfg: NetworkConfig, container_ids: Iterable[str]) -> None:
    from shocker.network import iptables, rules

    saved = rules.parse_save(iptables.save())
    iptables.restore(rules.plan_unpublish(saved, rules.Chains(cfg.chain_prefix), container_ids))


def publish(
    cfg: NetworkConfig,
    container_id: str,
    ip: str,
    ports: list[PortMapping],
    taken: Callable[[int, str], bool],
) -> list[PortMapping]:
    """Forward each host port to `ip`; return the mappings with their real host ports.

    `taken(port, protocol)` says whether another running container holds it. Raises
    Conflict for a port already published or used on the host, UsageError for a host
    address that is not this host's, NetworkError when iptables fails. The container's
    earlier rules (a restart) are replaced, and so are those of containers a crash left
    holding a port that is asked for.
    """
    from shocker.linux.proc import process_start_time
    from shocker.network import iptables, rules

    with state.locked(cfg.ports_file):
        claims = _read_claims(cfg)
        others = [claim for claim in claims if claim.owner != container_id]
        stale: set[str] = set()
        chosen: list[PortMapping] = []
        me = os.getpid()
        started = process_start_time(me)
        for mapping in ports:
            mine = [Claim(container_id, m, me, started) for m in chosen]
            chosen.append(_reserve(mapping, others + mine, taken, stale))
        replaced = stale | ({container_id} if len(others) != len(claims) else set())
        if replaced:
            _delete_rules(cfg, replaced)
            others = [claim for claim in others if claim.owner not in stale]
            _write_claims(cfg, others)
        if not chosen:
            return []
        # Claims first: a crash in between leaves a claim unpublish clears, never an
        # unclaimed rule.
        _write_claims(cfg, others + [Claim(container_id, m, me, started) for m in chosen])
        wanted: dict[str, list[str]] = {"nat": [], "filter": []}
        for mapping in chosen:
            for table, lines in rules.port_rules(cfg, container_id, ip, mapping).items():
                # Two host ports to one container port share the FORWARD accept.
                wanted[table] += [line for line in lines if line not in wanted[table]]
        try:
            iptables.restore(rules.restore_text(wanted))
        except BaseException:
            _write_claims(cfg, others)
            raise
    return chosen


def unpublish(cfg: NetworkConfig, container_id: str) -> None:
    """Remove the container's port rules and claims; nothing happens when it has none (and
    then no iptables command runs)."""
    if not cfg.ports_file.exists():
        return
    with state.locked(cfg.ports_file):
        claims = _read_claims(cfg)
        others = [claim for claim in claims if claim.owner != container_id]
        if len(others) == len(claims):
            return
        _delete_rules(cfg, [container_id])
        _write_claims(cfg, others)


def published(cfg: NetworkConfig) -> dict[str, list[PortMapping]]:
    """Container id -> its published ports (for `network inspect`)."""
    result: dict[str, list[PortMapping]] = {}
    for claim in _read_claims(cfg):
        result.setdefault(claim.owner, []).append(claim.mapping)
    return result
