"""iptables plans computed from iptables-save text: what to add, what to remove."""

from __future__ import annotations

from ipaddress import IPv4Interface
from pathlib import Path

from shocker.network import rules
from shocker.network.config import NetworkConfig
from shocker.network.ports import PortMapping

CFG = NetworkConfig("shkt0", IPv4Interface("10.0.0.1/24"), "SHKT", Path("/nonexistent"))
CHAINS = rules.Chains("SHKT")


def save_text_with(wanted: dict[str, list[str]], extra: str = "") -> str:
    """What iptables-save would print once `wanted` is applied."""
    text = ""
    for table, names in CHAINS.by_table().items():
        text += f"*{table}\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
        text += "".join(f":{name} - [0:0]\n" for name in names)
        text += "".join(f"{line}\n" for line in wanted.get(table, []))
        text += (extra if table == "nat" else "") + "COMMIT\n"
    return text


def test_an_empty_ruleset_gets_every_chain_and_rule() -> None:
    plan = rules.plan_additions({}, rules.host_rules(CFG), CHAINS)
    for name in ("SHKT-DNAT", "SHKT-POSTROUTING", "SHKT-FORWARD", "SHKT-INPUT"):
        assert f":{name} - [0:0]" in plan
    assert "-A SHKT-POSTROUTING -s 10.0.0.0/24 ! -o shkt0 -j MASQUERADE" in plan
    assert plan.count("COMMIT") == 2


def test_jumps_from_filter_chains_are_inserted_first() -> None:
    plan = rules.plan_additions({}, rules.host_rules(CFG), CHAINS)
    assert "-I FORWARD 1 -j SHKT-FORWARD" in plan
    assert "-I INPUT 1 -j SHKT-INPUT" in plan
    assert "-A POSTROUTING -j SHKT-POSTROUTING" in plan


def test_nothing_is_planned_when_everything_is_there() -> None:
    saved = rules.parse_save(save_text_with(rules.host_rules(CFG)))
    assert rules.plan_additions(saved, rules.host_rules(CFG), CHAINS) == ""


def test_only_a_missing_rule_is_added_back() -> None:
    wanted = rules.host_rules(CFG)
    missing = wanted["nat"][3]
    partial = {"nat": [r for r in wanted["nat"] if r != missing], "filter": wanted["filter"]}
    plan = rules.plan_additions(rules.parse_save(save_text_with(partial)), wanted, CHAINS)
    assert plan == f"*nat\n{missing}\nCOMMIT\n"


def test_removal_deletes_jumps_then_flushes_and_deletes_chains() -> None:
    saved = rules.parse_save(save_text_with(rules.host_rules(CFG)))
    plan = rules.plan_removal(saved, CHAINS).splitlines()
    assert "-D PREROUTING -m addrtype --dst-type LOCAL -j SHKT-DNAT" in plan
    assert "-D FORWARD -j SHKT-FORWARD" in plan
    assert plan.index("-D POSTROUTING -j SHKT-POSTROUTING") < plan.index("-X SHKT-POSTROUTING")
    assert plan.index("-F SHKT-DNAT") < plan.index("-X SHKT-DNAT")


def test_removal_leaves_other_chains_alone() -> None:
    other = "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\n"
    saved = rules.parse_save(save_text_with(rules.host_rules(CFG), other))
    assert "docker0" not in rules.plan_removal(saved, CHAINS)


def test_removal_of_nothing_is_an_empty_plan() -> None:
    assert rules.plan_removal(rules.parse_save("*nat\nCOMMIT\n"), CHAINS) == ""


def test_a_published_port_has_a_dnat_and_a_forward_rule_tagged_with_the_id() -> None:
    mapping = PortMapping("127.0.0.1", 8080, 80, "tcp")
    port_rules = rules.port_rules(CFG, "ps-12345", "10.0.0.2", mapping)
    assert port_rules["nat"] == [
        "-A SHKT-DNAT -d 127.0.0.1/32 -p tcp -m tcp --dport 8080 "
        "-m comment --comment ps-12345 -j DNAT --to-destination 10.0.0.2:80"
    ]
    assert port_rules["filter"] == [
        "-A SHKT-FORWARD -d 10.0.0.2/32 ! -i shkt0 -o shkt0 -p tcp -m tcp --dport 80 "
        "-m comment --comment ps-12345 -j ACCEPT"
    ]


def test_unpublish_deletes_only_that_containers_rules() -> None:
    mine = rules.port_rules(CFG, "ps-11111", "10.0.0.2", PortMapping("", 8080, 80, "udp"))
    theirs = rules.port_rules(CFG, "ps-111112", "10.0.0.3", PortMapping("", 8081, 80, "udp"))
    both = {t: mine[t] + theirs[t] for t in ("nat", "filter")}
    plan = rules.plan_unpublish(rules.parse_save(save_text_with(both)), CHAINS, ["ps-11111"])
    assert plan.count("-D ") == 2
    assert "8081" not in plan
    assert "-D SHKT-DNAT -p udp -m udp --dport 8080" in plan
