"""NetworkConfig from Settings: what is accepted and what is refused."""

from __future__ import annotations

from ipaddress import IPv4Interface
from pathlib import Path

import pytest

from shocker.errors import UsageError
from shocker.network.config import NetworkConfig
from shocker.settings import Settings


def test_the_defaults_give_bridge0_on_10_0_0_1() -> None:
    cfg = NetworkConfig.from_settings(Settings(), Path("/state"))
    assert (cfg.bridge, cfg.gateway, cfg.chain_prefix) == (
        "bridge0",
        IPv4Interface("10.0.0.1/24"),
        "SHOCKER",
    )
    assert cfg.subnet == "10.0.0.0/24"
    assert cfg.addresses_file == Path("/state/addresses-bridge0.json")


@pytest.mark.parametrize(
    "changes",
    [
        {"subnet": "10.0.0.1"},
        {"subnet": "10.0.0.0/24"},
        {"subnet": "10.0.0.255/24"},
        {"subnet": "not-an-address/24"},
        {"subnet": "10.0.0.1/31"},
        {"bridge": "a-name-far-too-long"},
        {"bridge": "bad name"},
        {"chain_prefix": "HAS-DASH"},
        {"chain_prefix": "A_PREFIX_FAR_TOO_LONG"},
    ],
)
def test_bad_network_settings_are_usage_errors(changes: dict[str, str]) -> None:
    with pytest.raises(UsageError):
        NetworkConfig.from_settings(Settings(**changes), Path("/state"))  # type: ignore[arg-type]
