"""A pull killed mid-download (`kill -9`) leaves no image listed; pulling again completes it."""

from __future__ import annotations

import signal

from tests.support.assertions import image_rows
from tests.support.images import busybox_layer, push_image, random_layer, seeded_bytes
from tests.support.push import Pusher
from tests.support.registry import Registry
from tests.support.shocker import Shocker
from tests.support.tcpproxy import tcp_proxy

LAYER_BYTES = 24 << 20
RATE_BYTES_PER_S = 4 << 20
SEED = b"interrupted pull"


def test_a_pull_killed_mid_download_leaves_no_image_and_a_second_pull_completes(
    fresh_shocker: Shocker, registry: Registry, pusher: Pusher
) -> None:
    image = push_image(
        pusher, "test/interrupted", [busybox_layer(), random_layer(LAYER_BYTES, seed=SEED)]
    )
    with tcp_proxy(registry.port, downstream_bytes_per_s=RATE_BYTES_PER_S) as proxy:
        slow = fresh_shocker.with_env(SHOCKER_REGISTRY=proxy.host)
        process = slow.popen("pull", image.ref)
        try:
            assert proxy.wait_for_downstream(4 << 20), "the pull never started downloading"
            assert process.poll() is None, "the pull finished before it could be interrupted"
            process.send_signal(signal.SIGKILL)
        finally:
            if process.poll() is None:
                process.kill()
            process.communicate(timeout=30)

    assert image_rows(fresh_shocker("images").check()) == {}

    result = fresh_shocker("pull", image.ref).check()

    image_id = result.created_id()
    assert image_rows(fresh_shocker("images").check())[image_id][0] == image.ref
    blob = (fresh_shocker.root / image_id / "data/blob").read_bytes()
    assert blob == seeded_bytes(SEED, LAYER_BYTES)
