"""What a container record says about the container, typed: the address it got on the
bridge and the ports published for it.

Each record reads and writes the shape state.json has always had (`to_json`, `from_json`);
a key that an older record lacks takes its default, one it does not know is ignored.
"""

from __future__ import annotations

from shocker.record import asdict, record
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


def _mapping(data: object) -> dict[str, Any]:
    return data if isinstance(data, dict) else {}


@record(frozen=True)
class PublishedPort:
    """A port published on the host (`-p`, `-P`), as the firewall made it: host_ip ""
    means every host address."""

    host_ip: str
    host_port: int
    container_port: int
    protocol: str = "tcp"

    @classmethod
    def from_json(cls, data: object) -> PublishedPort:
        body = _mapping(data)
        return cls(
            host_ip=str(body.get("host_ip") or ""),
            host_port=int(body.get("host_port", 0)),
            container_port=int(body.get("container_port", 0)),
            protocol=str(body.get("protocol", "tcp")),
        )


@record(frozen=True)
class NetworkAttachment:
    """The container's address on the bridge, recorded when it starts in bridge mode."""

    ip: str
    gateway: str
    prefixlen: int
    mac: str
    bridge: str
    mode: str = "bridge"

    @classmethod
    def from_json(cls, data: object) -> NetworkAttachment | None:
        """None for the `{}` of a container never attached to the bridge."""
        body = _mapping(data)
        if not body.get("ip"):
            return None
        return cls(
            ip=str(body["ip"]),
            gateway=str(body.get("gateway") or ""),
            prefixlen=int(body.get("prefixlen") or 0),
            mac=str(body.get("mac") or ""),
            bridge=str(body.get("bridge") or ""),
            mode=str(body.get("mode") or "bridge"),
        )


def network_json(network: NetworkAttachment | None) -> dict[str, Any]:
    return {} if network is None else sorted_keys(asdict(network))


def ports_json(ports: tuple[PublishedPort, ...]) -> list[dict[str, Any]]:
    return [sorted_keys(asdict(p)) for p in ports]


def sorted_keys(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with its keys in state.json's order (sorted), as `inspect` has always shown
    what the record holds."""
    return {key: data[key] for key in sorted(data)}


def ports_from_json(data: object) -> tuple[PublishedPort, ...]:
    return tuple(PublishedPort.from_json(p) for p in data) if isinstance(data, list) else ()
