"""Published ports: DNAT from loopback, the host's addresses and an external host; conflicts."""

from __future__ import annotations

import multiprocessing
import socket
from concurrent.futures import ProcessPoolExecutor

import pytest

from shocker.errors import Conflict
from shocker.network import firewall
from shocker.network.bridge import ensure_host_network
from shocker.network.config import NetworkConfig
from shocker.network.ports import PortMapping, parse_publish
from tests.integration.network.conftest import (
    SERVER_PORT,
    ExternalHost,
    MakeNamespace,
    ask,
    free_port,
    host_addresses,
    iptables_lines,
    nobody_else,
    start_container,
)


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


def publish_from_a_process_that_exits(cfg: NetworkConfig, container_id: str, port: int) -> None:
    """A start that crashed after publishing: the publishing process is gone."""
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        pool.submit(publish_one, cfg, container_id, port).result()


def publish_one(cfg: NetworkConfig, container_id: str, port: int) -> None:
    firewall.publish(cfg, container_id, "10.0.0.2", [PortMapping("", port, 80)], nobody_else)


def test_a_port_left_by_a_crashed_start_is_taken_over(cfg: NetworkConfig) -> None:
    ensure_host_network(cfg)
    port = free_port()
    publish_from_a_process_that_exits(cfg, "ps-a0020", port)
    firewall.publish(cfg, "ps-a0021", "10.0.0.3", [PortMapping("", port, 80)], nobody_else)
    lines = iptables_lines(cfg.chain_prefix)
    assert not [line for line in lines if "ps-a0020" in line]
    assert len([line for line in lines if "ps-a0021" in line]) == 2
    assert list(firewall.published(cfg)) == ["ps-a0021"]


def test_a_port_of_a_running_container_is_not_taken_over(cfg: NetworkConfig) -> None:
    ensure_host_network(cfg)
    port = free_port()
    publish_from_a_process_that_exits(cfg, "ps-a0022", port)

    def running(p: int, protocol: str) -> bool:
        return p == port

    with pytest.raises(Conflict, match=f"port {port}/tcp is already published by ps-a0022"):
        firewall.publish(cfg, "ps-a0023", "10.0.0.3", [PortMapping("", port, 80)], running)
