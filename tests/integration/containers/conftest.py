"""Helpers for container tests: a runner that always removes what it started."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.support.shocker import Result, Shocker


@pytest.fixture
def containers(shocker: Shocker) -> Iterator[list[str]]:
    """Container ids a test started; all removed (rm -f) afterwards, even on failure."""
    started: list[str] = []
    yield started
    for container_id in started:
        shocker("rm", "-f", container_id)


@pytest.fixture
def run_detached(shocker: Shocker, busybox_id: str, containers: list[str]) -> Callable[..., str]:
    def start(*args: str) -> str:
        result = shocker("run", "-d", *args).check()
        container_id = result.lines[-1].strip()
        assert container_id.startswith("ps-"), str(result)
        containers.append(container_id)
        return container_id

    return start


def wait_until(check: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def ps_row(shocker: Shocker, container_id: str) -> str:
    for line in shocker("ps").check().lines:
        if line.startswith(container_id):
            return line
    return ""


def last_container(result: Result) -> str:
    return result.lines[-1].strip()
