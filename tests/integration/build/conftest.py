"""Helpers for build tests: a context directory per test, and removal of what it built."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.shocker import Result, Shocker


@pytest.fixture
def built(shocker: Shocker) -> Iterator[list[str]]:
    """Image ids and names a test built; removed afterwards, even on failure."""
    made: list[str] = []
    yield made
    for image in reversed(made):
        shocker("rmi", image)


@pytest.fixture
def build(shocker: Shocker, busybox_id: str, built: list[str]) -> Callable[..., Result]:
    """`shocker build ARGS... CONTEXT`; a `Created:` image is removed after the test."""

    def run(*args: str, input: str | None = None) -> Result:
        result = shocker("build", *args, input=input, timeout_s=300)
        for line in result.lines:
            if line.startswith("Created: ") and line.split()[1] not in built:
                built.append(line.split()[1])
        return result

    return run


def write_context(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory


OFFLINE = ("--network", "none")


def run_in(shocker: Shocker, image: str, *command: str) -> list[str]:
    """The lines a built image's command (or `command`) prints, run offline."""
    return shocker("run", "--rm", "--network", "none", image, *command).check().lines


def image_config(shocker: Shocker, image: str) -> dict[str, Any]:
    """The image's config as `inspect` shows it."""
    config: dict[str, Any] = json.loads(shocker("inspect", image).check().out)[0]["config"]
    return config
