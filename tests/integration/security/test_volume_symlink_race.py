"""CVE-2021-30465 class: a symlink swapped into a shared volume while another container
mounts nested volumes under it. One container flips a directory of the volume to a
symlink to "/" in a loop; another starts 30 times with volumes nested under that path.
Mount points are resolved and created through descriptors inside the rootfs, so the host's
"/" never changes (a check-then-mkdir by name would create LEAF there)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.shocker import Shocker

# Three loops at once, so the flips are dense enough to land between a check and a use.
# Nothing recursive: `rm -rf` of a directory that turns into a link to "/" would empty the
# flipper's own root.
FLIP = "while :; do mkdir /data/b; rmdir /data/b; ln -s / /data/b; rm -f /data/b; done 2>/dev/null"
FLIPPER = f"({FLIP}) & ({FLIP}) & {FLIP}"


@pytest.fixture
def volumes(shocker: Shocker) -> Iterator[list[str]]:
    tag = secrets.token_hex(3)
    names = [f"race-{tag}-{n}" for n in ("a", "b", "c")]
    yield names
    for name in names:
        shocker("volume", "rm", name)


def test_symlink_flips_in_a_shared_volume_never_reach_the_host(
    shocker: Shocker,
    busybox_id: str,
    run_detached: Callable[..., str],
    volumes: list[str],
) -> None:
    leaf = f"shocker-race-{secrets.token_hex(4)}"
    host_root = sorted(p.name for p in Path("/").iterdir())
    shared, nested, inner = volumes
    flipper = run_detached("-v", f"{shared}:/data", busybox_id, "sh", "-c", FLIPPER)
    started = 0
    for _ in range(30):
        result = shocker(
            "run",
            "--rm",
            "-v",
            f"{shared}:/mnt/a",
            "-v",
            f"{nested}:/mnt/a/b",
            "-v",
            f"{inner}:/mnt/a/b/{leaf}",
            busybox_id,
            "true",
        )
        started += result.rc == 0
        assert not Path(f"/{leaf}").exists(), str(result)
    shocker("exec", flipper, "true").check()  # the flipper ran all along
    assert started > 0
    assert sorted(p.name for p in Path("/").iterdir()) == host_root
