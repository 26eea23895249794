"""Host set-up: the bridge, forwarding and shocker's chains, once; prune removes them."""

from __future__ import annotations

import multiprocessing
import socket
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from shocker.network import firewall
from shocker.network.attach import host_veth_name, mac_for
from shocker.network.bridge import ensure_host_network, prune
from shocker.network.config import NetworkConfig
from shocker.network.ports import parse_publish
from tests.integration.network.conftest import (
    MakeNamespace,
    iptables_lines,
    nobody_else,
    start_container,
    veths,
)


def test_setting_up_twice_adds_no_duplicate_rule(cfg: NetworkConfig) -> None:
    first = ensure_host_network(cfg)
    assert f"created bridge {cfg.bridge}" in first
    rules_after_first = iptables_lines(cfg.chain_prefix)
    assert ensure_host_network(cfg) == []
    # Without the marker the full set-up runs again and must find everything in place.
    Path(f"/sys/class/net/{cfg.bridge}/ifalias").write_text("\n")
    again = ensure_host_network(cfg)
    assert not [line for line in again if "iptables" in line or "bridge" in line]
    assert iptables_lines(cfg.chain_prefix) == rules_after_first
    assert len(set(rules_after_first)) == len(rules_after_first)


def test_the_bridge_keeps_the_gateways_mac_and_address(cfg: NetworkConfig) -> None:
    ensure_host_network(cfg)
    device = Path(f"/sys/class/net/{cfg.bridge}")
    assert (device / "address").read_text().strip() == mac_for(cfg.gateway.ip)
    shown = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", cfg.bridge], capture_output=True, text=True
    )
    assert str(cfg.gateway) in shown.stdout


def test_after_prune_no_chain_jump_rule_veth_or_bridge_remains(
    cfg: NetworkConfig, make_namespace: MakeNamespace
) -> None:
    container, address = start_container(cfg, make_namespace, "ps-a0018")
    firewall.publish(cfg, "ps-a0018", address, [parse_publish("8000")], nobody_else)
    removed = prune(cfg)
    assert f"removed bridge {cfg.bridge}" in removed
    assert f"removed veth {host_veth_name('ps-a0018', cfg.bridge)}" in removed
    assert veths(cfg) == set()
    assert "eth0" not in container.run("ip", "-o", "link").stdout
    assert iptables_lines(cfg.chain_prefix) == []
    assert not Path(f"/sys/class/net/{cfg.bridge}").exists()
    assert firewall.published(cfg) == {}
    assert prune(cfg) == []


def test_concurrent_first_runs_set_up_once(cfg: NetworkConfig) -> None:
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=16, mp_context=context) as pool:
        reports = list(pool.map(ensure_host_network, [cfg] * 16))
    creators = [r for r in reports if f"created bridge {cfg.bridge}" in r]
    assert len(creators) == 1
    lines = iptables_lines(cfg.chain_prefix)
    assert len(set(lines)) == len(lines)


def test_a_container_cannot_reach_the_hosts_loopback_services(
    cfg: NetworkConfig, make_namespace: MakeNamespace
) -> None:
    # route_localnet on the bridge would let a container that routes 127.0.0.1 to the
    # gateway reach services the host binds to loopback only (CVE-2020-8558).
    container, _ = start_container(cfg, make_namespace, "ps-c0001")
    for step in (
        ["ip", "addr", "flush", "dev", "lo"],
        ["ip", "route", "add", "127.0.0.1/32", "via", str(cfg.gateway.ip), "dev", "eth0"],
        ["sysctl", "-qw", "net.ipv4.conf.all.route_localnet=1"],
        ["sysctl", "-qw", "net.ipv4.conf.eth0.route_localnet=1"],
    ):
        done = container.run(*step)
        assert done.returncode == 0, done.stderr
    with socket.create_server(("127.0.0.1", 0)) as service:
        port = service.getsockname()[1]
        probe = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)"
        done = container.run(sys.executable, "-c", probe)
    assert done.returncode != 0
    assert "timed out" in done.stderr
