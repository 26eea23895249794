"""Escape attempts run from inside default containers (root, Docker's default
capabilities): the container fixtures of tests/integration/containers, shared."""

from __future__ import annotations

from tests.integration.containers.conftest import containers, run_detached

__all__ = ["containers", "run_detached"]
