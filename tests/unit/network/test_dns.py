"""/etc/resolv.conf and /etc/hosts contents for a container."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shocker.errors import UsageError
from shocker.network.dns import hosts_file, resolv_conf

RESOLVED_STUB = "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n"
UPSTREAM = "nameserver 192.0.2.53\nnameserver 198.51.100.53\nsearch lan\n"


def nameservers(text: str) -> list[str]:
    return [line.split()[1] for line in text.splitlines() if line.startswith("nameserver ")]


def test_a_host_with_reachable_nameservers_is_copied() -> None:
    host = "search example.org\nnameserver 192.0.2.1\n"
    assert resolv_conf(host, None, []) == host


def test_a_loopback_stub_is_replaced_by_the_upstream_servers() -> None:
    result = resolv_conf(RESOLVED_STUB, UPSTREAM, [])
    assert nameservers(result) == ["192.0.2.53", "198.51.100.53"]
    assert "search lan" in result


def test_a_loopback_stub_without_upstream_falls_back_to_public_servers() -> None:
    result = resolv_conf(RESOLVED_STUB, None, [])
    assert nameservers(result) == ["8.8.8.8", "1.1.1.1"]
    assert "options edns0 trust-ad" in result


def test_the_fallback_servers_are_configurable() -> None:
    result = resolv_conf("nameserver ::1\n", "", [], default_nameservers=["192.0.2.9"])
    assert nameservers(result) == ["192.0.2.9"]


def test_loopback_servers_are_dropped_and_others_kept() -> None:
    host = "nameserver 127.0.0.1\nnameserver 192.0.2.7\n"
    assert nameservers(resolv_conf(host, UPSTREAM, [])) == ["192.0.2.7"]


def test_dns_flags_replace_every_nameserver() -> None:
    result = resolv_conf("nameserver 192.0.2.1\nsearch lan\n", None, ["192.0.2.99", "2001:db8::1"])
    assert nameservers(result) == ["192.0.2.99", "2001:db8::1"]
    assert "search lan" in result


def test_a_bad_dns_flag_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="invalid --dns"):
        resolv_conf("", None, ["dns.example"])


def test_an_empty_host_file_still_gives_a_nameserver() -> None:
    assert nameservers(resolv_conf("", None, [])) == ["8.8.8.8", "1.1.1.1"]


def test_hosts_has_localhost_and_the_container_name() -> None:
    text = hosts_file("web", "10.0.0.2")
    lines = text.splitlines()
    assert "127.0.0.1\tlocalhost" in lines
    assert lines[-1] == "10.0.0.2\tweb"


def test_hosts_without_an_address_maps_the_name_to_loopback() -> None:
    assert "127.0.0.1\tlocalhost web" in hosts_file("web", None).splitlines()


def test_extra_hosts_are_listed() -> None:
    text = hosts_file("web", "10.0.0.2", [("db", "10.0.0.3")])
    assert "10.0.0.3\tdb" in text.splitlines()


def _ipaddress_verdict(text: str) -> bool | None:
    from ipaddress import ip_address

    try:
        return ip_address(text).is_loopback
    except ValueError:
        return None


def _fast_verdict(text: str) -> bool | None:
    from shocker.network.dns import _is_loopback

    try:
        return _is_loopback(text)
    except ValueError:
        return None


@pytest.mark.parametrize(
    "text",
    ["127.0.0.53", "127.1.2.3", "10.0.0.1", "0.0.0.0", "255.255.255.255", "256.1.1.1",
     "127.0.0.01", "01.2.3.4", "1.2.3", "1.2.3.4.5", "", "a.b.c.d", "١٢٧.0.0.1", "::1",
     "fe80::1", "::ffff:127.0.0.1", "1.2.3.-4", "+1.2.3.4"],
)  # fmt: skip
def test_the_dotted_quad_shortcut_agrees_with_ipaddress(text: str) -> None:
    assert _fast_verdict(text) == _ipaddress_verdict(text)


@given(st.lists(st.integers(0, 300), min_size=3, max_size=5), st.booleans())
def test_the_shortcut_agrees_with_ipaddress_on_generated_quads(parts: list[int], pad: bool) -> None:
    text = ".".join(f"0{p}" if pad and i == 1 else str(p) for i, p in enumerate(parts))
    assert _fast_verdict(text) == _ipaddress_verdict(text)
