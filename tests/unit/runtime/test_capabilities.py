"""Capability names: Docker's default set, --cap-add/--cap-drop parsing, masks."""

from __future__ import annotations

import pytest

from shocker.errors import UsageError
from shocker.runtime.capabilities import (
    ALL_CAPABILITIES,
    DEFAULT_CAPABILITIES,
    effective_capabilities,
    mask,
    normalise,
)


def test_default_set_is_dockers_fourteen_as_a_mask() -> None:
    # Docker's `CapEff: 00000000a80425fb`.
    assert len(DEFAULT_CAPABILITIES) == 14
    assert mask(DEFAULT_CAPABILITIES) == 0xA80425FB


@pytest.mark.parametrize("name", ["NET_ADMIN", "net_admin", "cap_net_admin", "CAP_NET_ADMIN"])
def test_names_normalise_with_or_without_prefix_and_case(name: str) -> None:
    assert normalise(name) == "CAP_NET_ADMIN"


def test_unknown_capability_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown capability"):
        normalise("FLY")


def test_cap_add_extends_the_default_set() -> None:
    assert effective_capabilities(["NET_ADMIN"], []) == DEFAULT_CAPABILITIES | {"CAP_NET_ADMIN"}


def test_cap_drop_removes_from_the_default_set() -> None:
    assert "CAP_CHOWN" not in effective_capabilities([], ["chown"])


def test_cap_drop_all_then_add_keeps_only_the_added() -> None:
    assert effective_capabilities(["NET_BIND_SERVICE"], ["ALL"]) == {"CAP_NET_BIND_SERVICE"}


def test_cap_add_all_gives_every_capability_of_the_kernel() -> None:
    assert effective_capabilities(["all"], []) == ALL_CAPABILITIES
    assert "CAP_SYS_ADMIN" in ALL_CAPABILITIES
