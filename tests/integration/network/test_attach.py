"""Attaching a container: eth0 in its namespace, reachability, NAT, teardown, addresses."""

from __future__ import annotations

import multiprocessing
import os
import socket
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from shocker.errors import NetworkError
from shocker.network import ipam
from shocker.network.attach import attach, detach, host_veth_name, mac_for
from shocker.network.bridge import ensure_host_network
from shocker.network.config import NetworkConfig
from tests.integration.network.conftest import (
    SERVER_PORT,
    ExternalHost,
    MakeNamespace,
    answer_once,
    ask,
    eventually,
    everyone_alive,
    start_container,
    veths,
)


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


def test_killing_the_container_leaves_no_veth(
    cfg: NetworkConfig, make_namespace: MakeNamespace
) -> None:
    container, _ = start_container(cfg, make_namespace, "ps-a0012")
    assert veths(cfg) == {host_veth_name("ps-a0012", cfg.bridge)}
    container.stop()
    detach(cfg, "ps-a0012")
    assert eventually(lambda: veths(cfg) == set())


def test_detach_with_wait_removes_the_veth_before_returning(
    cfg: NetworkConfig, make_namespace: MakeNamespace
) -> None:
    container, _ = start_container(cfg, make_namespace, "ps-a0013")
    detach(cfg, "ps-a0013", wait=True)
    assert veths(cfg) == set()
    assert "eth0" not in container.run("ip", "-o", "link").stdout
    detach(cfg, "ps-a0013", wait=True)


def test_detach_removes_the_veth_of_a_running_container_in_the_background(
    cfg: NetworkConfig, make_namespace: MakeNamespace
) -> None:
    container, _ = start_container(cfg, make_namespace, "ps-a0019")
    detach(cfg, "ps-a0019")
    assert eventually(lambda: veths(cfg) == set())
    assert "eth0" not in container.run("ip", "-o", "link").stdout
    detach(cfg, "ps-a0019")


def test_a_quick_restart_keeps_its_new_veth(
    cfg: NetworkConfig, make_namespace: MakeNamespace
) -> None:
    first, address = start_container(cfg, make_namespace, "ps-a001a")
    first.stop()
    detach(cfg, "ps-a001a")
    second = make_namespace()
    attach(cfg, "ps-a001a", second.pid, IPv4Address(address))
    new_index = Path(f"/sys/class/net/{host_veth_name('ps-a001a', cfg.bridge)}/ifindex")
    index = new_index.read_text()
    # Let the background deletion of the old veth finish, then the new one must be there.
    time.sleep(0.5)
    assert new_index.read_text() == index
    assert ask(address, SERVER_PORT) == str(cfg.gateway.ip)


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
    with pytest.raises(NetworkError, match=r"bridge shkn\w+ does not exist"):
        attach(cfg, "ps-a0017", container.pid, IPv4Address(int(cfg.gateway.ip) + 1))


def test_fifty_concurrent_allocations_are_distinct(cfg: NetworkConfig) -> None:
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=50, mp_context=context) as pool:
        ids = [f"ps-b{n:04x}" for n in range(50)]
        addresses = list(pool.map(allocate_in_child, [cfg] * 50, ids))
    assert len(set(addresses)) == 50
    assert ipam.addresses(cfg) == dict(zip(ids, addresses, strict=True))


def allocate_in_child(cfg: NetworkConfig, container_id: str) -> str:
    return str(ipam.allocate(cfg, container_id, None, everyone_alive))
