"""Fixtures of the archive tests: podman with storage of its own, and the shell check that
an image's files are as the layered test image leaves them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.catalog import LAYERED_ABSENT, LAYERED_PRESENT
from tests.support.images import PushedImage, repository_of
from tests.support.podman import Podman, private_podman
from tests.support.prereqs import have, require
from tests.support.registry import Registry


@pytest.fixture
def podman() -> Iterator[Podman]:
    require(have("podman"), "podman is needed as the oracle (apt install podman)")
    with private_podman() as running:
        yield running


def registry_ref(registry: Registry, image: PushedImage) -> str:
    """The image's full name in the session registry, as podman pulls it."""
    return f"{registry.host}/{repository_of(image.name)}:{image.tag}"


# Prints nothing but /etc/issue when the layered image's files are right: whiteouts applied,
# the opaque directory's lower content gone, its new content there.
LAYERED_CHECK = "; ".join(
    [f"test -e /{path} || echo missing {path}" for path in LAYERED_PRESENT]
    + [f"test -e /{path} && echo present {path}" for path in LAYERED_ABSENT]
    + ["cat /etc/issue"]
)
