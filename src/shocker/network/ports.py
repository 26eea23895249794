"""Published ports: parse `-p` specs and image ExposedPorts into PortMapping values (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address

from shocker.errors import UsageError
from shocker.record import record

PROTOCOLS = ("tcp", "udp")
# Docker refuses to expand more than this many ports from one ExposedPorts range entry.
_MAX_RANGE = 1024


@record(frozen=True)
class PortMapping:
    """host_ip "" means every host address; host_port 0 means "pick a free one"."""

    host_ip: str
    host_port: int
    container_port: int
    protocol: str = "tcp"

    def describe(self) -> str:
        """Docker's `port` line: `80/tcp -> 0.0.0.0:8080`."""
        host = self.host_ip or "0.0.0.0"
        return f"{self.container_port}/{self.protocol} -> {host}:{self.host_port}"


def _port(text: str, spec: str, *, allow_zero: bool = False) -> int:
    if not text.isdigit():
        if "-" in text:
            raise UsageError(f"invalid port spec {spec!r}: port ranges are not supported")
        raise UsageError(f"invalid port spec {spec!r}: {text!r} is not a port number")
    value = int(text)
    if not (1 <= value <= 65535 or (allow_zero and value == 0)):
        raise UsageError(f"invalid port spec {spec!r}: port {value} is not in 1-65535")
    return value


def _protocol(text: str, spec: str) -> str:
    protocol = text.lower()
    if protocol not in PROTOCOLS:
        raise UsageError(f"invalid port spec {spec!r}: protocol must be tcp or udp")
    return protocol


def parse_publish(spec: str) -> PortMapping:
    """`-p` forms: 80, 80/udp, 8080:80, 8080:80/udp, 127.0.0.1:8080:80, 127.0.0.1::80."""
    body, slash, protocol_text = spec.strip().partition("/")
    protocol = _protocol(protocol_text, spec) if slash else "tcp"
    if body.startswith("["):
        raise UsageError(f"invalid port spec {spec!r}: only IPv4 host addresses are supported")
    parts = body.split(":")
    if len(parts) > 3 or not body:
        raise UsageError(
            f"invalid port spec {spec!r}: expected [[HOST_IP:]HOST_PORT:]CONTAINER_PORT[/PROTO]"
        )
    host_ip = parts[0] if len(parts) == 3 else ""
    if host_ip:
        try:
            host_ip = str(IPv4Address(host_ip))
        except ValueError:
            raise UsageError(
                f"invalid port spec {spec!r}: {host_ip!r} is not an IPv4 address"
            ) from None
    host_port = 0
    if len(parts) >= 2 and parts[-2]:
        host_port = _port(parts[-2], spec)
    return PortMapping(host_ip, host_port, _port(parts[-1], spec), protocol)


def from_exposed(exposed: Iterable[str]) -> list[PortMapping]:
    """`-P`: every ExposedPorts entry ("80/tcp", "53/udp", "8000-8002/tcp") on a free port."""
    mappings: list[PortMapping] = []
    for entry in exposed:
        body, slash, protocol_text = entry.strip().partition("/")
        protocol = _protocol(protocol_text, entry) if slash else "tcp"
        first_text, dash, last_text = body.partition("-")
        first = _port(first_text, entry)
        last = _port(last_text, entry) if dash else first
        if last < first or last - first >= _MAX_RANGE:
            raise UsageError(f"invalid exposed port range {entry!r}")
        for port in range(first, last + 1):
            mapping = PortMapping("", 0, port, protocol)
            if mapping not in mappings:
                mappings.append(mapping)
    return mappings
