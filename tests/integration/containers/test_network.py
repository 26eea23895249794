"""Networking through the CLI: addresses, modes, published ports, NAT to an "external host".

Traffic goes only to loopback, to the session's own bridge, and to a namespace this file
creates (the "external host").
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass

import pytest

from tests.integration.containers.conftest import wait_until
from tests.support.shocker import Shocker

HTTPD = (
    "sh",
    "-c",
    "mkdir -p /www && echo served-by-$HOSTNAME > /www/index.html && exec httpd -f -p 80 -h /www",
)


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def container_ip(shocker: Shocker, container_id: str) -> str:
    record = json.loads(shocker("inspect", container_id).check().out)[0]
    return str(record["network"]["ip"])


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        body: bytes = response.read()
        return body.decode()


def test_bridge_gives_eth0_an_address_and_a_default_route(
    shocker: Shocker, busybox_id: str
) -> None:
    subnet = shocker.env["SHOCKER_SUBNET"]
    gateway, prefix = subnet.split("/")
    out = (
        shocker("run", "--rm", busybox_id, "sh", "-c", "ip -4 addr show eth0; ip route").check().out
    )
    network_prefix = gateway.rsplit(".", 1)[0] + "."
    assert f"inet {network_prefix}" in out
    assert f"/{prefix}" in out
    assert f"default via {gateway}" in out
    mac = shocker("run", "--rm", busybox_id, "cat", "/sys/class/net/eth0/address").check().out
    first_octet = int(mac.split(":")[0], 16)
    assert first_octet & 0b10 and not first_octet & 0b1  # locally administered unicast


def test_network_none_has_only_loopback(shocker: Shocker, busybox_id: str) -> None:
    out = shocker("run", "--rm", "--network", "none", busybox_id, "ls", "/sys/class/net").check()
    assert out.out.split() == ["lo"]


def test_network_host_sees_the_hosts_links(shocker: Shocker, busybox_id: str) -> None:
    # Other tests add and remove veths meanwhile: compare the links that stay.
    bridge = shocker.env["SHOCKER_BRIDGE"]
    shocker("run", "--rm", busybox_id, "true").check()  # the session bridge exists
    out = shocker("run", "--rm", "--network", "host", busybox_id, "ls", "/sys/class/net").check()
    assert {"lo", bridge} <= set(out.out.split())


def test_containers_reach_each_other_and_the_host_bridge(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    server = run_detached(busybox_id, *HTTPD)
    ip = container_ip(shocker, server)
    got = shocker("run", "--rm", busybox_id, "wget", "-qO-", f"http://{ip}/").check().out
    assert got == f"served-by-{server}\n"
    gateway = shocker.env["SHOCKER_SUBNET"].split("/")[0]
    ping = shocker("run", "--rm", busybox_id, "ping", "-c", "1", "-W", "2", gateway)
    assert ping.rc == 0, str(ping)


def test_network_container_joins_another_containers_namespace(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    server = run_detached(busybox_id, *HTTPD)
    sidecar = shocker(
        "run",
        "--rm",
        "--network",
        f"container:{server}",
        busybox_id,
        "wget",
        "-qO-",
        "http://127.0.0.1/",
    ).check()
    assert sidecar.out == f"served-by-{server}\n"


def test_published_port_reaches_the_container_from_loopback(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    port = free_port()
    server = run_detached("-p", f"{port}:80", busybox_id, *HTTPD)
    assert wait_until(lambda: _reachable(f"http://127.0.0.1:{port}/"))
    assert fetch(f"http://127.0.0.1:{port}/") == f"served-by-{server}\n"
    assert shocker("port", server).check().out.strip() == f"80/tcp -> 0.0.0.0:{port}"
    assert f":{port}->80/tcp" in shocker("ps").check().out
    before = set(shocker("ps", "-q").check().lines)
    clash = shocker("run", "--rm", "-d", "-p", f"{port}:80", busybox_id, *HTTPD)
    assert set(shocker("ps", "-q").check().lines) == before
    assert clash.rc != 0
    assert str(port) in clash.err
    assert "Traceback" not in clash.err
    shocker("rm", "-f", server).check()
    assert not _reachable(f"http://127.0.0.1:{port}/")


def test_port_without_host_port_gets_a_free_one(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    server = run_detached("-p", "80", busybox_id, *HTTPD)
    line = shocker("port", server).check().out.strip()
    port = int(line.rpartition(":")[2])
    assert port > 0
    assert wait_until(lambda: _reachable(f"http://127.0.0.1:{port}/"))


def _reachable(url: str) -> bool:
    try:
        fetch(url)
    except OSError:
        return False
    return True


def test_fifty_concurrent_containers_get_distinct_addresses(
    shocker: Shocker, busybox_id: str, containers: list[str]
) -> None:
    with ThreadPoolExecutor(10) as pool:
        results = list(
            pool.map(lambda _: shocker("run", "-d", busybox_id, "sleep", "60"), range(50))
        )
    ids = [r.lines[-1] for r in results if r.rc == 0]
    containers.extend(ids)
    assert len(ids) == 50, [str(r) for r in results if r.rc][:1]
    addresses = [container_ip(shocker, c) for c in ids]
    assert len(set(addresses)) == 50
    with ThreadPoolExecutor(10) as pool:
        assert all(r.rc == 0 for r in pool.map(lambda c: shocker("rm", "-f", c), ids))
    containers.clear()
    bridge = shocker.env["SHOCKER_BRIDGE"]
    veths = subprocess.run(
        ["ip", "-o", "link", "show", "master", bridge], capture_output=True, text=True
    ).stdout
    assert veths.strip() == ""
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    assert not [ln for ln in rules.splitlines() if any(c in ln for c in ids)]


@dataclass(frozen=True)
class ExternalHost:
    netns: str
    address: str  # inside the namespace
    host_side: str  # the host's address on the link to it


def _unused_network(candidates: list[str]) -> ipaddress.IPv4Network:
    routes = subprocess.run(
        ["ip", "-4", "-o", "route", "show", "table", "all"], capture_output=True, text=True
    ).stdout
    used = [
        ipaddress.ip_network(word, strict=False)
        for line in routes.splitlines()
        for word in line.split()[:1]
        if word[0].isdigit()
    ]
    for text in candidates:
        network = ipaddress.IPv4Network(text)
        if not any(network.overlaps(u) for u in used if u.prefixlen > 0):
            return network
    pytest.skip("no unused documentation range for the external host")


@pytest.fixture
def external_host() -> Iterator[ExternalHost]:
    """A namespace with its own veth and address, routed from the host: "the outside"."""
    tag = secrets.token_hex(2)
    netns, host_veth, inner_veth = f"shkext{tag}", f"shkx{tag}", f"shky{tag}"
    # Two addresses of a documentation range that no route of this host overlaps.
    network = _unused_network(["198.51.100.0/24", "203.0.113.0/24", "100.127.254.0/24"])
    base = 2 * secrets.randbelow(100) + 2
    host_side, address = str(network[base]), str(network[base + 1])

    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)

    try:
        ip("netns", "add", netns)
        ip("link", "add", host_veth, "type", "veth", "peer", "name", inner_veth)
        ip("link", "set", inner_veth, "netns", netns)
        ip("addr", "add", f"{host_side}/32", "dev", host_veth)
        ip("link", "set", host_veth, "up")
        ip("route", "add", f"{address}/32", "dev", host_veth)
        ip("-n", netns, "addr", "add", f"{address}/32", "dev", inner_veth)
        ip("-n", netns, "link", "set", inner_veth, "up")
        ip("-n", netns, "link", "set", "lo", "up")
        ip("-n", netns, "route", "add", f"{host_side}/32", "dev", inner_veth)
        ip("-n", netns, "route", "add", "default", "via", host_side, "dev", inner_veth)
        yield ExternalHost(netns, address, host_side)
    finally:
        subprocess.run(["ip", "link", "del", host_veth], capture_output=True)
        subprocess.run(["ip", "netns", "del", netns], capture_output=True)


def test_container_reaches_the_outside_through_nat_and_the_outside_reaches_a_published_port(
    shocker: Shocker,
    run_detached: Callable[..., str],
    busybox_id: str,
    external_host: ExternalHost,
) -> None:
    # A server in the external namespace; the container connects through NAT.
    server = subprocess.Popen(
        ["nsenter", f"--net=/run/netns/{external_host.netns}", "busybox", "nc", "-l", "-p", "9000"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        got = ""
        for _ in range(20):
            result = shocker(
                "run",
                "--rm",
                busybox_id,
                "sh",
                "-c",
                f"echo | nc -w 2 {external_host.address} 9000 && echo reached",
            )
            got = result.out
            if "reached" in got:
                break
        assert "reached" in got
    finally:
        server.kill()
        server.wait()
    port = free_port()
    web = run_detached("-p", f"{port}:80", busybox_id, *HTTPD)
    assert wait_until(lambda: _reachable(f"http://127.0.0.1:{port}/"))
    fetch_code = (
        "import sys, urllib.request; "
        "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())"
    )
    url = f"http://{external_host.host_side}:{port}/"
    netns = f"--net=/run/netns/{external_host.netns}"
    outside = subprocess.run(
        ["nsenter", netns, sys.executable, "-c", fetch_code, url],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert outside.stdout == f"served-by-{web}\n", (outside.returncode, outside.stderr)


def _rules() -> str:
    return subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
