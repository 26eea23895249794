"""Contents of a container's /etc/resolv.conf and /etc/hosts (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from shocker.errors import UsageError

# Docker's defaults when the host has no usable nameserver. Written into the file only.
DEFAULT_NAMESERVERS = ("8.8.8.8", "1.1.1.1")

_HOSTS_HEADER = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
)


def _is_nameserver(line: str) -> bool:
    words = line.split()
    return len(words) >= 2 and words[0] == "nameserver"


def _is_loopback(address: str) -> bool:
    """Whether an IP address is a loopback one; ValueError if it is no address.

    Dotted-quad IPv4, the usual resolv.conf line, is decided here: importing ipaddress costs
    ~1.1 ms on every `run` (measured with -X importtime); anything else goes to ipaddress.
    """
    octets = address.split(".")
    if (
        len(octets) == 4
        and all(o.isdigit() and o.isascii() and len(o) <= 3 for o in octets)
        and all(int(o) <= 255 and (o == "0" or o[0] != "0") for o in octets)
    ):
        return octets[0] == "127"
    from ipaddress import ip_address

    return ip_address(address).is_loopback


def _usable_nameservers(resolv: str) -> list[str]:
    """Nameservers a container can reach: not on loopback (127.0.0.53 is the host's own)."""
    servers = []
    for line in resolv.splitlines():
        if _is_nameserver(line):
            server = line.split()[1]
            try:
                if _is_loopback(server.split("%")[0]):
                    continue
            except ValueError:
                continue
            servers.append(server)
    return servers


def _check_dns(dns: Iterable[str]) -> list[str]:
    from ipaddress import ip_address

    servers = []
    for server in dns:
        try:
            servers.append(str(ip_address(server.strip())))
        except ValueError:
            raise UsageError(f"invalid --dns {server!r}: expected an IP address") from None
    return servers


def resolv_conf(
    host_resolv: str,
    fallback_resolv: str | None,
    dns: list[str],
    default_nameservers: Sequence[str] = DEFAULT_NAMESERVERS,
) -> str:
    """The host's resolv.conf with nameservers a container can reach.

    `--dns` servers replace all nameservers. Otherwise loopback nameservers are dropped
    (systemd-resolved's stub 127.0.0.53 is unreachable from another network namespace);
    if none is left, `fallback_resolv` (the stub's upstream file,
    /run/systemd/resolve/resolv.conf) is used, else `default_nameservers`. Search and
    options lines are kept.
    """
    servers = _check_dns(dns)
    base = host_resolv
    if not servers:
        servers = _usable_nameservers(host_resolv)
    if not servers and fallback_resolv:
        servers = _usable_nameservers(fallback_resolv)
        if servers:
            base = fallback_resolv
    if not servers:
        servers = list(default_nameservers)
    kept = [line for line in base.splitlines() if line.strip() and not _is_nameserver(line)]
    lines = kept + [f"nameserver {server}" for server in servers]
    return "\n".join(lines) + "\n"


def hosts_file(hostname: str, ip: str | None, extra: Iterable[tuple[str, str]] = ()) -> str:
    """/etc/hosts: localhost, the IPv6 names Docker writes, the container, `--add-host`s.

    Without an address (`--network none`) the hostname resolves to 127.0.0.1.
    """
    text = _HOSTS_HEADER
    if ip is None:
        text = text.replace("127.0.0.1\tlocalhost\n", f"127.0.0.1\tlocalhost {hostname}\n")
    for name, address in extra:
        text += f"{address}\t{name}\n"
    if ip is not None:
        text += f"{ip}\t{hostname}\n"
    return text
