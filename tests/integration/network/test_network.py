"""The bridge, NAT and published ports against real namespaces, veths and iptables."""

from __future__ import annotations

import multiprocessing
import os
import socket
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from shocker.errors import Conflict, NetworkError
from shocker.network import firewall, ipam
from shocker.network.attach import attach, detach, host_veth_name, mac_for
from shocker.network.bridge import ensure_host_network, prune
from shocker.network.config import NetworkConfig
from shocker.network.ports import PortMapping, parse_publish
from tests.integration.network.conftest import (
    SERVER_PORT,
    ExternalHost,
    Namespace,
    iptables_lines,
    veths,
)

MakeNamespace = Callable[[], Namespace]


def nobody_else(port: int, protocol: str) -> bool:
    return False


def everyone_alive(container_id: str) -> bool:
    return True


def ask(host: str, port: int) -> str:
    """Connect from the host; the answer is the address the server saw."""
    with socket.create_connection((host, port), timeout=5) as connection:
        return connection.makefile().readline().strip()


def start_container(
    cfg: NetworkConfig, make_namespace: MakeNamespace, container_id: str
) -> tuple[Namespace, str]:
    ensure_host_network(cfg)
    namespace = make_namespace()
    address = ipam.allocate(cfg, container_id, None, everyone_alive)
    attach(cfg, container_id, namespace.pid, address)
    return namespace, str(address)


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


def test_an_attached_container_has_eth0_lo_and_a_default_route(
    cfg: NetworkConfig, make_namespace: MakeNamespace
) -> None:
    container, address = start_container(cfg, make_namespace, "ps-a0001")
    links = container.run("ip", "-o", "link").stdout
    assert "lo:" in links and "eth0@" in links
    assert mac_for(IPv4Address(address)) in container.run("ip", "link", "show", "eth0").stdout
    assert f"{address}/24" in container.run("ip", "-4", "addr", "show", "eth0").stdout
    route = container.run("ip", "route", "show", "default").stdout
    assert f"default via {cfg.gateway.ip} dev eth0" in route
    assert container.ask("127.0.0.1") == "127.0.0.1"  # lo is up
    ports = Path(f"/sys/class/net/{cfg.bridge}/brif")
    assert host_veth_name("ps-a0001", cfg.bridge) in {p.name for p in ports.iterdir()}


def test_the_host_and_the_container_reach_each_other(
    cfg: NetworkConfig, make_namespace: MakeNamespace
) -> None:
    container, address = start_container(cfg, make_namespace, "ps-a0002")
    assert ask(address, SERVER_PORT) == str(cfg.gateway.ip)
    with socket.create_server((str(cfg.gateway.ip), 0)) as server:
        port = server.getsockname()[1]
        answer = threading.Thread(target=answer_once, args=(server,))
        answer.start()
        try:
            assert container.ask(str(cfg.gateway.ip), port) == address
        finally:
            answer.join(timeout=10)


def test_two_containers_reach_each_other_on_the_bridge(
    cfg: NetworkConfig, make_namespace: MakeNamespace
) -> None:
    first, first_address = start_container(cfg, make_namespace, "ps-a0003")
    second, second_address = start_container(cfg, make_namespace, "ps-a0004")
    assert first_address != second_address
    assert first.ask(second_address) == first_address
    assert second.ask(first_address) == second_address


def test_a_container_reaches_an_external_host_through_nat(
    cfg: NetworkConfig, make_namespace: MakeNamespace, external_host: ExternalHost
) -> None:
    container, _ = start_container(cfg, make_namespace, "ps-a0005")
    # The external host sees the host's address on its link, not the container's.
    assert container.ask(external_host.address) == external_host.host_side


def test_a_published_port_answers_on_loopback_and_the_hosts_addresses(
    cfg: NetworkConfig, make_namespace: MakeNamespace
) -> None:
    _container, address = start_container(cfg, make_namespace, "ps-a0006")
    (mapping,) = firewall.publish(
        cfg, "ps-a0006", address, [parse_publish(f"{SERVER_PORT}")], nobody_else
    )
    assert mapping.host_port > 0
    assert ask("127.0.0.1", mapping.host_port) == str(cfg.gateway.ip)
    assert ask(str(cfg.gateway.ip), mapping.host_port) == str(cfg.gateway.ip)
    for host_address in host_addresses():
        assert ask(host_address, mapping.host_port)


def test_a_published_port_answers_an_external_host_with_its_own_address(
    cfg: NetworkConfig, make_namespace: MakeNamespace, external_host: ExternalHost
) -> None:
    _container, address = start_container(cfg, make_namespace, "ps-a0007")
    port = free_port()
    firewall.publish(
        cfg, "ps-a0007", address, [parse_publish(f"{port}:{SERVER_PORT}")], nobody_else
    )
    assert external_host.namespace.ask(external_host.host_side, port) == external_host.address


def test_a_container_reaches_another_containers_published_port_through_the_host(
    cfg: NetworkConfig, make_namespace: MakeNamespace
) -> None:
    _server, address = start_container(cfg, make_namespace, "ps-a0008")
    client, _ = start_container(cfg, make_namespace, "ps-a0009")
    (mapping,) = firewall.publish(cfg, "ps-a0008", address, [parse_publish("8000")], nobody_else)
    assert client.ask(str(cfg.gateway.ip), mapping.host_port) == str(cfg.gateway.ip)


def test_a_port_bound_to_loopback_does_not_answer_elsewhere(
    cfg: NetworkConfig, make_namespace: MakeNamespace
) -> None:
    _container, address = start_container(cfg, make_namespace, "ps-a000a")
    port = free_port()
    spec = f"127.0.0.1:{port}:{SERVER_PORT}"
    firewall.publish(cfg, "ps-a000a", address, [parse_publish(spec)], nobody_else)
    assert ask("127.0.0.1", port) == str(cfg.gateway.ip)
    with pytest.raises(OSError):
        ask(str(cfg.gateway.ip), port)


def test_a_second_container_cannot_publish_the_same_port(
    cfg: NetworkConfig, make_namespace: MakeNamespace
) -> None:
    ensure_host_network(cfg)
    port = free_port()
    firewall.publish(cfg, "ps-a000b", "10.0.0.2", [PortMapping("", port, 80)], nobody_else)
    with pytest.raises(Conflict, match=f"port {port}/tcp is already published by ps-a000b"):
        firewall.publish(cfg, "ps-a000c", "10.0.0.3", [PortMapping("", port, 80)], nobody_else)
    # Another protocol on the same number is another port.
    firewall.publish(cfg, "ps-a000c", "10.0.0.3", [PortMapping("", port, 80, "udp")], nobody_else)


def test_a_port_the_engine_reports_taken_is_a_conflict(cfg: NetworkConfig) -> None:
    ensure_host_network(cfg)
    with pytest.raises(Conflict, match="already published by another container"):
        firewall.publish(
            cfg, "ps-a000d", "10.0.0.2", [PortMapping("", free_port(), 80)], lambda p, q: True
        )


def test_a_port_a_host_service_listens_on_is_a_conflict(cfg: NetworkConfig) -> None:
    ensure_host_network(cfg)
    with socket.create_server(("127.0.0.1", 0)) as service:
        port = service.getsockname()[1]
        with pytest.raises(Conflict, match=f"port {port}/tcp is already in use on the host"):
            firewall.publish(cfg, "ps-a000e", "10.0.0.2", [PortMapping("", port, 80)], nobody_else)
    assert not [line for line in iptables_lines(cfg.chain_prefix) if "ps-a000e" in line]


def test_unpublish_removes_the_rules_and_frees_the_port(cfg: NetworkConfig) -> None:
    ensure_host_network(cfg)
    port = free_port()
    firewall.publish(cfg, "ps-a000f", "10.0.0.2", [PortMapping("", port, 80)], nobody_else)
    assert len([line for line in iptables_lines(cfg.chain_prefix) if "ps-a000f" in line]) == 2
    firewall.unpublish(cfg, "ps-a000f")
    firewall.unpublish(cfg, "ps-a000f")
    assert not [line for line in iptables_lines(cfg.chain_prefix) if "ps-a000f" in line]
    firewall.publish(cfg, "ps-a0010", "10.0.0.3", [PortMapping("", port, 80)], nobody_else)


def test_publishing_again_for_the_same_container_replaces_its_rules(cfg: NetworkConfig) -> None:
    ensure_host_network(cfg)
    port = free_port()
    for _ in range(2):
        firewall.publish(cfg, "ps-a0011", "10.0.0.2", [PortMapping("", port, 80)], nobody_else)
    assert len([line for line in iptables_lines(cfg.chain_prefix) if "ps-a0011" in line]) == 2


def test_killing_the_container_leaves_no_veth(
    cfg: NetworkConfig, make_namespace: MakeNamespace
) -> None:
    container, _ = start_container(cfg, make_namespace, "ps-a0012")
    assert veths(cfg) == {host_veth_name("ps-a0012", cfg.bridge)}
    container.stop()
    detach(cfg, "ps-a0012")
    assert veths(cfg) == set()


def test_detach_removes_the_veth_of_a_container_still_running(
    cfg: NetworkConfig, make_namespace: MakeNamespace
) -> None:
    container, _ = start_container(cfg, make_namespace, "ps-a0013")
    detach(cfg, "ps-a0013")
    detach(cfg, "ps-a0013")
    assert veths(cfg) == set()
    assert "eth0" not in container.run("ip", "-o", "link").stdout


def test_attach_refuses_the_hosts_own_namespace(cfg: NetworkConfig) -> None:
    ensure_host_network(cfg)
    with pytest.raises(NetworkError, match="no network namespace of its own"):
        attach(cfg, "ps-a0014", os.getpid(), IPv4Address(int(cfg.gateway.ip) + 1))
    assert veths(cfg) == set()


def test_a_failed_attach_removes_the_host_veth(
    cfg: NetworkConfig, make_namespace: MakeNamespace
) -> None:
    ensure_host_network(cfg)
    container = make_namespace()
    attach(cfg, "ps-a0015", container.pid, IPv4Address(int(cfg.gateway.ip) + 1))
    # The second eth0 cannot be created in the same namespace.
    with pytest.raises(NetworkError, match="cannot attach ps-a0016"):
        attach(cfg, "ps-a0016", container.pid, IPv4Address(int(cfg.gateway.ip) + 2))
    assert veths(cfg) == {host_veth_name("ps-a0015", cfg.bridge)}


def test_attach_without_the_bridge_is_a_clear_error(
    cfg: NetworkConfig, make_namespace: MakeNamespace
) -> None:
    container = make_namespace()
    with pytest.raises(NetworkError, match="cannot attach ps-a0017"):
        attach(cfg, "ps-a0017", container.pid, IPv4Address(int(cfg.gateway.ip) + 1))


def test_fifty_concurrent_allocations_are_distinct(cfg: NetworkConfig) -> None:
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=50, mp_context=context) as pool:
        ids = [f"ps-b{n:04x}" for n in range(50)]
        addresses = list(pool.map(allocate_in_child, [cfg] * 50, ids))
    assert len(set(addresses)) == 50
    assert ipam.addresses(cfg) == dict(zip(ids, addresses, strict=True))


def test_after_prune_no_chain_jump_rule_or_bridge_remains(
    cfg: NetworkConfig, make_namespace: MakeNamespace
) -> None:
    _container, address = start_container(cfg, make_namespace, "ps-a0018")
    firewall.publish(cfg, "ps-a0018", address, [parse_publish("8000")], nobody_else)
    removed = prune(cfg)
    assert f"removed bridge {cfg.bridge}" in removed
    assert iptables_lines(cfg.chain_prefix) == []
    assert not Path(f"/sys/class/net/{cfg.bridge}").exists()
    assert firewall.published(cfg) == {}
    assert prune(cfg) == []


def allocate_in_child(cfg: NetworkConfig, container_id: str) -> str:
    return str(ipam.allocate(cfg, container_id, None, everyone_alive))


def answer_once(server: socket.socket) -> None:
    server.settimeout(10)
    connection, peer = server.accept()
    with connection:
        connection.sendall(peer[0].encode() + b"\n")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def host_addresses() -> list[str]:
    """The host's own IPv4 addresses outside loopback (published ports answer on all)."""
    shown = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    return [
        line.split()[3].partition("/")[0] for line in shown.splitlines() if line.split()[1] != "lo"
    ]
