"""Cold pulls from a local docker-registry: shocker against skopeo (transfer only) and podman
(extraction included); the pull of an image sharing all but its top layer; `shocker images`
with 200 images. Prints medians and ratios; asserts nothing.

Run as root from the repository root: python -m bench.bench_pull [--rounds N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support.images import push_image, random_layer
from tests.support.push import Pusher

from bench.common import (
    Figure,
    World,
    median,
    report_figures,
    shocker_argv,
    summary,
    timed,
    world,
)

LAYER_MB = (30, 20, 15, 10)  # ~75 MB in 4 layers of incompressible data
IMAGE = "bench/big"
SIBLING = "bench/big-sibling"
CONTAINERS_CONF = """[containers]
default_ulimits = ["nofile=20000:20000"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
"""
INSECURE_POLICY = {"default": [{"type": "insecureAcceptAnything"}]}


def push_images(world: World) -> None:
    layers = [
        random_layer(mb << 20, seed=f"bench layer {i}".encode()) for i, mb in enumerate(LAYER_MB)
    ]
    top = random_layer(LAYER_MB[-1] << 20, seed=b"bench sibling top")
    with Pusher(world.registry.url) as pusher:
        push_image(pusher, IMAGE, layers)
        push_image(pusher, SIBLING, [*layers[:-1], top])
    total = sum(len(layer.blob) for layer in layers) / 1e6
    print(f"image {IMAGE}: {len(layers)} layers, {total:.1f} MB compressed; {SIBLING} shares 3")


def shocker_pull(world: World, name: str, round_: int) -> float:
    with world.fresh_root(f"shocker-{round_}") as root:
        return timed(shocker_argv("pull", name), world.shocker_env(root))


def shocker_shared_pull(world: World, round_: int) -> float:
    with world.fresh_root(f"shared-{round_}") as root:
        env = world.shocker_env(root)
        timed(shocker_argv("pull", IMAGE), env)
        return timed(shocker_argv("pull", SIBLING), env)


def skopeo_copy(world: World, round_: int) -> float:
    policy = world.workdir / "policy.json"
    policy.write_text(json.dumps(INSECURE_POLICY))
    target = world.btrfs / f"skopeo-{round_}"
    try:
        return timed(
            ["skopeo", "--policy", str(policy), "copy", "--quiet", "--src-tls-verify=false",
             f"docker://{world.registry.host}/{IMAGE}:latest", f"dir:{target}"]
        )  # fmt: skip
    finally:
        shutil.rmtree(target, ignore_errors=True)
        world.settle()


@contextlib.contextmanager
def podman_storage(world: World, name: str) -> Iterator[list[str]]:
    """podman argv prefix with private storage, run and tmp dirs (the machine's stay untouched)."""
    base = world.workdir / name
    base.mkdir()
    argv = ["podman", "--root", str(base / "root"), "--runroot", str(base / "run"),
            "--tmpdir", str(base / "tmp"), "--storage-driver", "overlay"]  # fmt: skip
    try:
        yield argv
    finally:
        subprocess.run([*argv, "system", "reset", "--force"], capture_output=True, check=False)
        for line in Path("/proc/self/mountinfo").read_text().splitlines()[::-1]:
            point = line.split()[4]
            if point.startswith(str(base)):
                subprocess.run(["umount", "-l", point], capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)
        world.settle()


def podman_pull(world: World, env: dict[str, str], round_: int, shared: bool = False) -> float:
    with podman_storage(world, f"podman-{'shared-' if shared else ''}{round_}") as podman:
        pull = [*podman, "pull", "--quiet", "--tls-verify=false"]
        if shared:
            timed([*pull, f"{world.registry.host}/{IMAGE}:latest"], env)
            return timed([*pull, f"{world.registry.host}/{SIBLING}:latest"], env)
        return timed([*pull, f"{world.registry.host}/{IMAGE}:latest"], env)


def images_listing(world: World, count: int, rounds: int) -> list[float]:
    with world.fresh_root("listing") as root:
        env = world.shocker_env(root)
        source = world.workdir / "tiny-rootfs"
        (source / "etc").mkdir(parents=True)
        (source / "etc/issue").write_text("tiny\n")
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda _: timed(shocker_argv("init", str(source)), env), range(count)))
        listed = subprocess.run(
            shocker_argv("images", "-q"), env=env, capture_output=True, text=True
        )
        print(f"shocker images: {len(listed.stdout.split())} images listed")
        return [timed(shocker_argv("images"), env) for _ in range(rounds)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--skip-podman", action="store_true")
    args = parser.parse_args()
    have_podman = not args.skip_podman and shutil.which("podman") is not None
    with world() as w:
        push_images(w)
        conf = w.workdir / "containers.conf"
        conf.write_text(CONTAINERS_CONF)
        podman_env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                      "HOME": str(w.workdir), "CONTAINERS_CONF": str(conf)}  # fmt: skip
        times: dict[str, list[float]] = {"shocker": [], "skopeo": [], "podman": []}
        shared: dict[str, list[float]] = {"shocker": [], "podman": []}
        for round_ in range(args.rounds):
            # Interleaved, so a drift of the machine hits every tool alike.
            times["shocker"].append(shocker_pull(w, IMAGE, round_))
            times["skopeo"].append(skopeo_copy(w, round_))
            shared["shocker"].append(shocker_shared_pull(w, round_))
            if have_podman:
                times["podman"].append(podman_pull(w, podman_env, round_))
                shared["podman"].append(podman_pull(w, podman_env, round_, shared=True))
        listing = images_listing(w, 200, max(args.rounds, 10))

    print()
    print(summary("shocker pull (cold, extracted)", times["shocker"]))
    print(summary("skopeo copy dir: (transfer only)", times["skopeo"]))
    if times["podman"]:
        print(summary("podman pull (cold, extracted)", times["podman"]))
    print(summary("shocker pull, all but top layer held", shared["shocker"]))
    if shared["podman"]:
        print(summary("podman pull, all but top layer held", shared["podman"]))
    print(summary("shocker images (200 images)", listing))
    cold, shared_pull = median(times["shocker"]), median(shared["shocker"])
    podman = median(times["podman"]) if times["podman"] else None
    podman_shared = median(shared["podman"]) if shared["podman"] else None
    report_figures([
        Figure("cold pull, 4 layers", cold, "podman pull", podman, at_least=2),
        Figure("cold pull, 4 layers (transfer)", cold, "skopeo copy", median(times["skopeo"]),
               at_least=1),
        Figure("pull, all but the top layer held", shared_pull, "podman pull", podman_shared,
               at_least=2),
        Figure("images (200 images)", median(listing)),
    ])  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
