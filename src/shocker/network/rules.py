"""shocker's iptables rules as text in iptables-save(8) form, and the plans that add or remove
them (pure: input is `iptables-save` output, output is `iptables-restore --noflush` input).
"""

from __future__ import annotations

from collections.abc import Iterable

from shocker.record import field, record
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.network.config import NetworkConfig
    from shocker.network.ports import PortMapping

# Rules are written exactly as iptables-save prints them (option order -s -d -i -o -p -m -j),
# so "is this rule there" is a line comparison and adding twice never duplicates.

LOOPBACK = "127.0.0.0/8"
# Jumps into these built-in chains go first, so that a host firewall's DROP (or Docker's
# FORWARD policy) cannot hide shocker's traffic; the others are appended.
_INSERTED_FIRST = {("filter", "FORWARD"), ("filter", "INPUT")}


@record(frozen=True)
class Chains:
    """Names of shocker's own chains for one chain prefix."""

    prefix: str

    @property
    def dnat(self) -> str:
        return f"{self.prefix}-DNAT"

    @property
    def postrouting(self) -> str:
        return f"{self.prefix}-POSTROUTING"

    @property
    def forward(self) -> str:
        return f"{self.prefix}-FORWARD"

    @property
    def input(self) -> str:
        return f"{self.prefix}-INPUT"

    def by_table(self) -> dict[str, list[str]]:
        return {"nat": [self.dnat, self.postrouting], "filter": [self.forward, self.input]}


@record()
class Table:
    chains: set[str] = field(default_factory=set)
    rules: list[str] = field(default_factory=list)


def parse_save(text: str) -> dict[str, Table]:
    """Tables of `iptables-save` output: declared chains and `-A` lines, as printed."""
    tables: dict[str, Table] = {}
    current: Table | None = None
    for line in text.splitlines():
        if line.startswith("*"):
            current = tables.setdefault(line[1:].strip(), Table())
        elif current is None:
            continue
        elif line.startswith(":"):
            current.chains.add(line[1:].split()[0])
        elif line.startswith("-A "):
            current.rules.append(line.rstrip())
    return tables


def host_rules(cfg: NetworkConfig) -> dict[str, list[str]]:
    """Every rule the bridge needs, per table, jumps first."""
    chains = Chains(cfg.chain_prefix)
    bridge, subnet = cfg.bridge, cfg.subnet
    return {
        "nat": [
            f"-A PREROUTING -m addrtype --dst-type LOCAL -j {chains.dnat}",
            # Includes 127.0.0.0/8: published ports answer on the host's loopback too.
            f"-A OUTPUT -m addrtype --dst-type LOCAL -j {chains.dnat}",
            f"-A POSTROUTING -j {chains.postrouting}",
            # Containers reach other hosts with the host's address.
            f"-A {chains.postrouting} -s {subnet} ! -o {bridge} -j MASQUERADE",
            # Host to a published port on 127.0.0.1: the container could not answer 127.0.0.1.
            f"-A {chains.postrouting} -s {LOOPBACK} -o {bridge} -j MASQUERADE",
            # A container to a published port of the bridge's containers (hairpin): without
            # this the answer would go straight back over the bridge, not through the NAT.
            f"-A {chains.postrouting} -s {subnet} -o {bridge} -m conntrack --ctstate DNAT "
            "-j MASQUERADE",
        ],
        "filter": [
            f"-A FORWARD -j {chains.forward}",
            f"-A INPUT -j {chains.input}",
            f"-A {chains.forward} -o {bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
            f"-A {chains.forward} -i {bridge} -j ACCEPT",
            # route_localnet on the bridge (for published ports on 127.0.0.1) would also let
            # a container reach the host's loopback services; drop that, as kube-proxy does
            # since CVE-2020-8558.
            f"-A {chains.input} -d {LOOPBACK} -i {bridge} -m conntrack "
            "! --ctstate RELATED,ESTABLISHED,DNAT -j DROP",
        ],
    }


def _comment(container_id: str) -> str:
    return f"-m comment --comment {container_id}"


def port_rules(
    cfg: NetworkConfig, container_id: str, ip: str, mapping: PortMapping
) -> dict[str, list[str]]:
    """The DNAT rule and the FORWARD accept of one published port, tagged with the id."""
    chains = Chains(cfg.chain_prefix)
    protocol = mapping.protocol
    destination = f"-d {mapping.host_ip}/32 " if mapping.host_ip else ""
    tag = _comment(container_id)
    return {
        "nat": [
            f"-A {chains.dnat} {destination}-p {protocol} -m {protocol} "
            f"--dport {mapping.host_port} {tag} "
            f"-j DNAT --to-destination {ip}:{mapping.container_port}"
        ],
        "filter": [
            f"-A {chains.forward} -d {ip}/32 ! -i {cfg.bridge} -o {cfg.bridge} -p {protocol} "
            f"-m {protocol} --dport {mapping.container_port} {tag} -j ACCEPT"
        ],
    }


def restore_text(sections: dict[str, list[str]]) -> str:
    text = ""
    for table, lines in sections.items():
        if lines:
            text += f"*{table}\n" + "".join(f"{line}\n" for line in lines) + "COMMIT\n"
    return text


def _as_insert(table: str, rule: str) -> str:
    chain = rule.split()[1]
    if (table, chain) in _INSERTED_FIRST:
        return f"-I {chain} 1 " + rule.split(maxsplit=2)[2]
    return rule


def plan_additions(saved: dict[str, Table], wanted: dict[str, list[str]], chains: Chains) -> str:
    """Restore input that declares missing chains and adds the missing rules; "" if none."""
    sections: dict[str, list[str]] = {}
    for table, rules in wanted.items():
        existing = saved.get(table, Table())
        lines = [f":{c} - [0:0]" for c in chains.by_table()[table] if c not in existing.chains]
        lines += [_as_insert(table, r) for r in rules if r not in existing.rules]
        sections[table] = lines
    return restore_text(sections)


def plan_removal(saved: dict[str, Table], chains: Chains) -> str:
    """Restore input that deletes every jump to shocker's chains, then the chains."""
    sections: dict[str, list[str]] = {}
    for table, names in chains.by_table().items():
        existing = saved.get(table, Table())
        ours = [c for c in names if c in existing.chains]
        lines = [
            "-D " + rule[3:]
            for rule in existing.rules
            if rule.split()[1] not in ours and rule.split()[-1] in ours
        ]
        lines += [f"-F {c}" for c in ours] + [f"-X {c}" for c in ours]
        sections[table] = lines
    return restore_text(sections)


def plan_unpublish(saved: dict[str, Table], chains: Chains, container_ids: Iterable[str]) -> str:
    """Restore input that deletes the rules tagged with any of `container_ids`."""
    tags = [_comment(c) for c in container_ids]
    sections: dict[str, list[str]] = {}
    for table, names in chains.by_table().items():
        sections[table] = [
            "-D " + rule[3:]
            for rule in saved.get(table, Table()).rules
            if rule.split()[1] in names and any(f"{tag} " in rule for tag in tags)
        ]
    return restore_text(sections)
