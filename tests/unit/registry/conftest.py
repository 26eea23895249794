from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shocker.registry.client import RegistryClient
from shocker.settings import Settings
from tests.unit.registry.fakeserver import FakeServer


@pytest.fixture
def registry() -> Iterator[FakeServer]:
    server = FakeServer("127.0.0.1")
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def cdn() -> Iterator[FakeServer]:
    """Another "host": 127.0.0.2 is loopback too on Linux, and not the registry's origin."""
    server = FakeServer("127.0.0.2")
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def settings(tmp_path: Path, registry: FakeServer) -> Settings:
    # A docker config that does not exist: the user's own credentials never leak in.
    return Settings(root=tmp_path, registry=registry.host, docker_config=tmp_path / "none.json")


@pytest.fixture
def client(settings: Settings) -> Iterator[RegistryClient]:
    with RegistryClient(settings, backoff=0.01) as registry_client:
        yield registry_client
