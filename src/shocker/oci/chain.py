"""ChainIDs: the identity of a stack of layers (OCI image spec, config.md "Layer ChainID")."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def next_chain_id(parent_chain_id: str | None, diff_id: str) -> str:
    """ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))."""
    if parent_chain_id is None:
        return diff_id
    return "sha256:" + hashlib.sha256(f"{parent_chain_id} {diff_id}".encode()).hexdigest()


def chain_ids(diff_ids: Sequence[str]) -> list[str]:
    """The chain id of every layer of a stack, bottom first."""
    chains: list[str] = []
    for diff_id in diff_ids:
        chains.append(next_chain_id(chains[-1] if chains else None, diff_id))
    return chains
