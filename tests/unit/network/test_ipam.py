"""IPAM: the pure choice of an address, and the locked allocator over its state file."""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest

from shocker.errors import Conflict, NetworkError, UsageError
from shocker.network import ipam
from shocker.network.config import NetworkConfig

GATEWAY = IPv4Interface("10.0.0.1/24")


def cfg_in(tmp_path: Path, subnet: str = "10.0.0.1/24") -> NetworkConfig:
    return NetworkConfig("shkt0", IPv4Interface(subnet), "SHKT", tmp_path)


def always(_: str) -> bool:
    return True


def never(_: str) -> bool:
    return False


def test_the_first_address_after_the_gateway_is_chosen_first() -> None:
    assert ipam.choose_address(GATEWAY, set()) == IPv4Address("10.0.0.2")


def test_the_lowest_free_address_is_chosen() -> None:
    used = {IPv4Address("10.0.0.2"), IPv4Address("10.0.0.4")}
    assert ipam.choose_address(GATEWAY, used) == IPv4Address("10.0.0.3")


def test_the_gateway_is_skipped_wherever_it_sits() -> None:
    gateway = IPv4Interface("10.0.0.2/29")
    assert ipam.choose_address(gateway, set()) == IPv4Address("10.0.0.1")
    assert ipam.choose_address(gateway, {IPv4Address("10.0.0.1")}) == IPv4Address("10.0.0.3")


def test_a_full_subnet_is_a_clear_error() -> None:
    gateway = IPv4Interface("10.0.0.1/29")
    used = {IPv4Address(f"10.0.0.{n}") for n in range(2, 7)}
    with pytest.raises(NetworkError, match=r"no free address in 10\.0\.0\.0/29"):
        ipam.choose_address(gateway, used)


def test_network_gateway_and_broadcast_are_never_given() -> None:
    gateway = IPv4Interface("10.0.0.1/30")
    assert ipam.choose_address(gateway, set()) == IPv4Address("10.0.0.2")
    with pytest.raises(NetworkError):
        ipam.choose_address(gateway, {IPv4Address("10.0.0.2")})


@pytest.mark.parametrize(
    ("requested", "message"),
    [
        ("10.0.1.5", "outside the subnet 10.0.0.0/24"),
        ("10.0.0.0", "reserved"),
        ("10.0.0.255", "reserved"),
        ("10.0.0.1", "gateway"),
    ],
)
def test_a_requested_address_must_be_a_host_of_the_subnet(requested: str, message: str) -> None:
    with pytest.raises(Conflict, match=message):
        ipam.choose_address(GATEWAY, set(), IPv4Address(requested))


def test_a_requested_free_address_is_given() -> None:
    wanted = IPv4Address("10.0.0.77")
    assert ipam.choose_address(GATEWAY, {IPv4Address("10.0.0.2")}, wanted) == wanted


def test_a_requested_address_in_use_is_a_conflict() -> None:
    with pytest.raises(Conflict, match="already in use"):
        ipam.choose_address(GATEWAY, {IPv4Address("10.0.0.9")}, IPv4Address("10.0.0.9"))


def test_a_malformed_requested_address_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="invalid --ip"):
        ipam.allocate(cfg_in(tmp_path), "ps-00001", "10.0.0", always)


def test_allocations_are_recorded_and_distinct(tmp_path: Path) -> None:
    cfg = cfg_in(tmp_path)
    first = ipam.allocate(cfg, "ps-00001", None, always)
    second = ipam.allocate(cfg, "ps-00002", None, always)
    assert (first, second) == (IPv4Address("10.0.0.2"), IPv4Address("10.0.0.3"))
    assert ipam.addresses(cfg) == {"ps-00001": "10.0.0.2", "ps-00002": "10.0.0.3"}


def test_allocating_again_for_the_same_container_keeps_its_address(tmp_path: Path) -> None:
    cfg = cfg_in(tmp_path)
    first = ipam.allocate(cfg, "ps-00001", None, always)
    ipam.allocate(cfg, "ps-00002", None, always)
    assert ipam.allocate(cfg, "ps-00001", None, always) == first
    assert len(ipam.addresses(cfg)) == 2


def test_addresses_of_containers_that_are_gone_are_reclaimed_when_the_subnet_is_full(
    tmp_path: Path,
) -> None:
    cfg = cfg_in(tmp_path, "10.0.0.1/29")
    for n in range(5):
        ipam.allocate(cfg, f"ps-0000{n}", None, always)
    address = ipam.allocate(cfg, "ps-00009", None, lambda cid: cid != "ps-00003")
    assert address == IPv4Address("10.0.0.5")
    assert "ps-00003" not in ipam.addresses(cfg)
    assert len(ipam.addresses(cfg)) == 5


def test_liveness_is_not_asked_while_there_is_room(tmp_path: Path) -> None:
    cfg = cfg_in(tmp_path)
    asked: list[str] = []

    def live(container_id: str) -> bool:
        asked.append(container_id)
        return False

    for n in range(3):
        ipam.allocate(cfg, f"ps-0000{n}", None, live)
    assert asked == []
    assert len(ipam.addresses(cfg)) == 3


def test_a_full_subnet_of_live_containers_stays_full(tmp_path: Path) -> None:
    cfg = cfg_in(tmp_path, "10.0.0.1/29")
    for n in range(5):
        ipam.allocate(cfg, f"ps-0000{n}", None, always)
    with pytest.raises(NetworkError, match=r"no free address in 10\.0\.0\.0/29"):
        ipam.allocate(cfg, "ps-00009", None, always)


def test_a_requested_address_held_by_a_live_container_names_it(tmp_path: Path) -> None:
    cfg = cfg_in(tmp_path)
    ipam.allocate(cfg, "ps-00001", "10.0.0.50", always)
    with pytest.raises(Conflict, match=r"10\.0\.0\.50 is already in use by ps-00001"):
        ipam.allocate(cfg, "ps-00002", "10.0.0.50", always)


def test_a_requested_address_held_by_a_dead_container_is_taken_over(tmp_path: Path) -> None:
    cfg = cfg_in(tmp_path)
    ipam.allocate(cfg, "ps-00001", "10.0.0.50", always)
    assert ipam.allocate(cfg, "ps-00002", "10.0.0.50", never) == IPv4Address("10.0.0.50")


def test_release_frees_the_address_and_may_be_repeated(tmp_path: Path) -> None:
    cfg = cfg_in(tmp_path)
    ipam.allocate(cfg, "ps-00001", None, always)
    ipam.release(cfg, "ps-00001")
    ipam.release(cfg, "ps-00001")
    ipam.release(cfg, "ps-99999")
    assert ipam.addresses(cfg) == {}
    assert ipam.allocate(cfg, "ps-00002", None, always) == IPv4Address("10.0.0.2")


def test_release_without_any_state_creates_nothing(tmp_path: Path) -> None:
    cfg = cfg_in(tmp_path / "missing")
    ipam.release(cfg, "ps-00001")
    assert not (tmp_path / "missing").exists()


def test_a_full_subnet_fails_through_the_allocator(tmp_path: Path) -> None:
    cfg = cfg_in(tmp_path, "10.0.0.1/30")
    ipam.allocate(cfg, "ps-00001", None, always)
    with pytest.raises(NetworkError, match="no free address"):
        ipam.allocate(cfg, "ps-00002", None, always)


def test_entries_from_another_subnet_do_not_block_addresses(tmp_path: Path) -> None:
    cfg = cfg_in(tmp_path)
    cfg.addresses_file.write_text(json.dumps({"addresses": {"ps-00009": "10.9.0.2"}}))
    assert ipam.allocate(cfg, "ps-00001", None, always) == IPv4Address("10.0.0.2")


def test_the_state_file_is_plain_json(tmp_path: Path) -> None:
    cfg = cfg_in(tmp_path)
    ipam.allocate(cfg, "ps-00001", None, always)
    data = json.loads(cfg.addresses_file.read_text())
    assert data == {"subnet": "10.0.0.0/24", "addresses": {"ps-00001": "10.0.0.2"}}
