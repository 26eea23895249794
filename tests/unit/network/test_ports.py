"""`-p` and `-P` parsing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shocker.errors import UsageError
from shocker.network.ports import PortMapping, from_exposed, parse_publish


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("80", PortMapping("", 0, 80, "tcp")),
        ("80/udp", PortMapping("", 0, 80, "udp")),
        ("8080:80", PortMapping("", 8080, 80, "tcp")),
        ("8080:80/udp", PortMapping("", 8080, 80, "udp")),
        ("8080:80/TCP", PortMapping("", 8080, 80, "tcp")),
        ("127.0.0.1:8080:80", PortMapping("127.0.0.1", 8080, 80, "tcp")),
        ("127.0.0.1::80", PortMapping("127.0.0.1", 0, 80, "tcp")),
        ("127.0.0.1:53:53/udp", PortMapping("127.0.0.1", 53, 53, "udp")),
        (":80", PortMapping("", 0, 80, "tcp")),
    ],
)
def test_publish_specs_are_parsed(spec: str, expected: PortMapping) -> None:
    assert parse_publish(spec) == expected


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("", "expected"),
        ("http", "not a port number"),
        ("0", "not in 1-65535"),
        ("8080:0", "not in 1-65535"),
        ("70000:80", "not in 1-65535"),
        ("80/sctp", "tcp or udp"),
        ("80/", "tcp or udp"),
        ("1.2.3:8080:80", "not an IPv4 address"),
        ("[::1]:8080:80", "IPv4"),
        ("a:b:c:d", "expected"),
        ("8000-8010:80", "ranges are not supported"),
    ],
)
def test_bad_publish_specs_are_usage_errors(spec: str, reason: str) -> None:
    with pytest.raises(UsageError, match=reason):
        parse_publish(spec)


@given(st.integers(1, 65535), st.integers(1, 65535), st.sampled_from(["tcp", "udp"]))
def test_any_valid_host_and_container_port_round_trips(host: int, inner: int, proto: str) -> None:
    assert parse_publish(f"{host}:{inner}/{proto}") == PortMapping("", host, inner, proto)


def test_exposed_ports_get_a_free_host_port_each() -> None:
    assert from_exposed(["80/tcp", "53/udp", "8080"]) == [
        PortMapping("", 0, 80, "tcp"),
        PortMapping("", 0, 53, "udp"),
        PortMapping("", 0, 8080, "tcp"),
    ]


def test_an_exposed_range_is_expanded_without_duplicates() -> None:
    assert from_exposed(["8000-8002/tcp", "8001/tcp"]) == [
        PortMapping("", 0, 8000, "tcp"),
        PortMapping("", 0, 8001, "tcp"),
        PortMapping("", 0, 8002, "tcp"),
    ]


@pytest.mark.parametrize("entry", ["x/tcp", "90-80/tcp", "1-5000/tcp", "80/icmp"])
def test_bad_exposed_ports_are_usage_errors(entry: str) -> None:
    with pytest.raises(UsageError):
        from_exposed([entry])


def test_a_mapping_describes_itself_as_docker_port_does() -> None:
    assert PortMapping("", 8080, 80, "tcp").describe() == "80/tcp -> 0.0.0.0:8080"
    assert PortMapping("127.0.0.1", 5353, 53, "udp").describe() == "53/udp -> 127.0.0.1:5353"
