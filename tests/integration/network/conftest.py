"""Fixtures for network tests: a test bridge, subnet and chain prefix (pruned and checked
afterwards), "containers" that are processes in fresh network namespaces running a small
server, and an "external host" namespace with its own veth and address.

Traffic only goes to loopback and to namespaces these fixtures create.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shocker.network import ipam
from shocker.network.attach import attach, host_veth_name
from shocker.network.bridge import ensure_host_network, prune
from shocker.network.config import NetworkConfig
from tests.integration.network.netprog import CLIENT, SERVER
from tests.support.prereqs import have, require

SERVER_PORT = 8000


def _used_networks() -> list[ipaddress.IPv4Network]:
    output = subprocess.run(
        ["ip", "-4", "-o", "route", "show", "table", "all"], capture_output=True, text=True
    ).stdout
    networks = []
    for line in output.splitlines():
        for word in line.split():
            with contextlib.suppress(ValueError):
                if word.count(".") == 3:
                    networks.append(ipaddress.IPv4Network(word, strict=False))
    return networks


def free_network(candidates: list[str]) -> ipaddress.IPv4Network:
    """The first candidate no route of this host overlaps, tried in a random order."""
    used = _used_networks()
    order = sorted(candidates, key=lambda _: secrets.randbits(32))
    for text in order:
        network = ipaddress.IPv4Network(text)
        if not any(network.overlaps(u) for u in used if u.prefixlen > 0):
            return network
    raise RuntimeError("no free test subnet on this host")


def iptables_lines(prefix: str) -> list[str]:
    """Every iptables-save line that mentions the prefix (chains, rules, jumps)."""
    text = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    return [line for line in text.splitlines() if prefix in line]


def links(pattern: str) -> set[str]:
    return {p.name for p in Path("/sys/class/net").iterdir() if pattern in p.name}


def veths(config: NetworkConfig) -> set[str]:
    """Host ends of container veths made for this bridge (their names end with its hash)."""
    suffix = host_veth_name("ps-00000", config.bridge).rpartition("-")[2]
    return {name for name in links("vshk-") if name.endswith(f"-{suffix}")}


@pytest.fixture
def cfg(tmp_path: Path) -> Iterator[NetworkConfig]:
    """A test bridge shkn<hex> on a free 10.213.x.0/24 with chains SHKN<HEX>-*; afterwards
    prune must leave no bridge, chain, rule or veth of it."""
    require(os.geteuid() == 0, "network tests need root")
    for program in ("iptables-save", "iptables-restore", "unshare", "nsenter", "ip"):
        require(have(program), f"network tests need {program}")
    tag = secrets.token_hex(2)
    while (Path("/sys/class/net") / f"shkn{tag}").exists():
        tag = secrets.token_hex(2)
    network = free_network([f"10.213.{n}.0/24" for n in range(256)])
    config = NetworkConfig(
        bridge=f"shkn{tag}",
        gateway=ipaddress.IPv4Interface(f"{network.network_address + 1}/24"),
        chain_prefix=f"SHKN{tag.upper()}",
        state_dir=tmp_path / "network",
    )
    try:
        yield config
    finally:
        problems: list[str] = []
        try:
            prune(config)
        except Exception as error:
            problems.append(f"prune failed: {error}")
        # The kernel destroys a dead process's namespace, and the veth in it, asynchronously.
        deadline = time.monotonic() + 10
        while veths(config) and time.monotonic() < deadline:
            time.sleep(0.05)
        leftovers = iptables_lines(config.chain_prefix)
        leftovers += sorted(links(config.bridge) | veths(config))
        if leftovers:
            problems.append(f"prune left: {leftovers}")
            force_cleanup(config)
        if problems:
            pytest.fail("; ".join(problems))


def force_cleanup(config: NetworkConfig) -> None:
    """Remove the test's links and iptables objects without shocker's code."""
    for link in links(config.bridge) | veths(config):
        subprocess.run(["ip", "link", "del", link], capture_output=True)
    for table in ("nat", "filter"):
        listed = subprocess.run(
            ["iptables", "-w", "-t", table, "-S"], capture_output=True, text=True
        ).stdout.splitlines()
        for line in listed:
            if line.startswith("-A ") and config.chain_prefix in line:
                argv = ["iptables", "-w", "-t", table, "-D", *shlex.split(line)[1:]]
                subprocess.run(argv, capture_output=True)
        for line in listed:
            if line.startswith("-N ") and config.chain_prefix in line:
                chain = line.split()[1]
                for action in ("-F", "-X"):
                    subprocess.run(
                        ["iptables", "-w", "-t", table, action, chain], capture_output=True
                    )


@dataclass
class Namespace:
    """A process alone in a new network namespace, serving SERVER on SERVER_PORT."""

    process: subprocess.Popen[str]

    @property
    def pid(self) -> int:
        return self.process.pid

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["nsenter", f"--net=/proc/{self.pid}/ns/net", *argv],
            capture_output=True,
            text=True,
            timeout=20,
        )

    def ask(self, host: str, port: int = SERVER_PORT) -> str:
        """Connect from inside this namespace; the answer is our address as seen there."""
        done = self.run(sys.executable, "-c", CLIENT, host, str(port))
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


@pytest.fixture
def make_namespace() -> Iterator[Callable[[], Namespace]]:
    started: list[Namespace] = []

    def make() -> Namespace:
        process = subprocess.Popen(
            ["unshare", "--net", sys.executable, "-c", SERVER, str(SERVER_PORT)],
            stdout=subprocess.PIPE,
            text=True,
        )
        namespace = Namespace(process)
        started.append(namespace)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        return namespace

    try:
        yield make
    finally:
        for namespace in started:
            namespace.stop()


@dataclass
class ExternalHost:
    """Another machine as far as the containers know: its own namespace behind a veth,
    routed through the host."""

    namespace: Namespace
    address: str  # its own
    host_side: str  # the host's address on the link to it


@pytest.fixture
def external_host(make_namespace: Callable[[], Namespace]) -> Iterator[ExternalHost]:
    network = free_network([f"198.51.100.{n * 8}/29" for n in range(32)])
    host_side, address = (str(network.network_address + n) for n in (1, 2))
    namespace = make_namespace()
    link = f"shkx{secrets.token_hex(2)}"
    steps = [
        [
            "ip",
            "link",
            "add",
            link,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            str(namespace.pid),
        ],
        ["ip", "addr", "add", f"{host_side}/29", "dev", link],
        ["ip", "link", "set", link, "up"],
    ]
    inside = [
        ["ip", "link", "set", "lo", "up"],
        ["ip", "link", "set", "eth0", "up"],
        ["ip", "addr", "add", f"{address}/29", "dev", "eth0"],
        ["ip", "route", "add", "default", "via", host_side],
    ]
    try:
        for step in steps:
            subprocess.run(step, check=True, capture_output=True)
        for step in inside:
            done = namespace.run(*step)
            assert done.returncode == 0, done.stderr
        yield ExternalHost(namespace, address, host_side)
    finally:
        namespace.stop()
        if (Path("/sys/class/net") / link).exists():
            subprocess.run(["ip", "link", "del", link], capture_output=True)


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


def eventually(condition: Callable[[], bool], timeout_s: float = 10) -> bool:
    """Poll `condition` until it holds or `timeout_s` passes (the kernel and background
    deletions finish asynchronously); its last value."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            return condition()
        time.sleep(0.02)
    return True
