"""save and load of a ~78 MB image of 4 layers (incompressible data): shocker against podman
in the same run, each writing and reading its own docker-archive. Prints medians and ratios;
asserts nothing.

Run as root from the repository root: python -m bench.bench_archive [--rounds N]
"""

from __future__ import annotations

import argparse
import shutil
import sys

from tests.support.images import push_image, random_layer
from tests.support.push import Pusher

from bench.bench_pull import CONTAINERS_CONF, LAYER_MB, podman_storage
from bench.common import Figure, World, median, report_figures, shocker_argv, summary, timed, world

IMAGE = "bench/archive"


def push(world: World) -> None:
    layers = [
        random_layer(mb << 20, seed=f"bench layer {i}".encode()) for i, mb in enumerate(LAYER_MB)
    ]
    with Pusher(world.registry.url) as pusher:
        push_image(pusher, IMAGE, layers)
    total = sum(len(layer.blob) for layer in layers) / 1e6
    print(f"image {IMAGE}: {len(layers)} layers, {total:.1f} MB compressed", file=sys.stderr)


def shocker_round(world: World, round_: int) -> tuple[float, float]:
    """(save, load) seconds: the pulled image saved, then loaded into an empty store."""
    archive = world.workdir / f"shocker-{round_}.tar"
    try:
        with world.fresh_root(f"save-{round_}") as root:
            env = world.shocker_env(root)
            timed(shocker_argv("pull", IMAGE), env)
            world.settle()
            save = timed(shocker_argv("save", "-o", str(archive), IMAGE), env)
        with world.fresh_root(f"load-{round_}") as root:
            world.settle()
            load = timed(shocker_argv("load", "-i", str(archive)), world.shocker_env(root))
    finally:
        archive.unlink(missing_ok=True)
    return save, load


def podman_round(world: World, env: dict[str, str], round_: int) -> tuple[float, float]:
    archive = world.workdir / f"podman-{round_}.tar"
    ref = f"{world.registry.host}/{IMAGE}:latest"
    try:
        with podman_storage(world, f"podman-save-{round_}") as podman:
            timed([*podman, "pull", "--quiet", "--tls-verify=false", ref], env)
            world.settle()
            save = timed([*podman, "save", "--quiet", "-o", str(archive), ref], env)
        with podman_storage(world, f"podman-load-{round_}") as podman:
            world.settle()
            load = timed([*podman, "load", "--quiet", "-i", str(archive)], env)
    finally:
        archive.unlink(missing_ok=True)
    return save, load


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--skip-podman", action="store_true")
    args = parser.parse_args()
    have_podman = not args.skip_podman and shutil.which("podman") is not None
    saves: dict[str, list[float]] = {"shocker": [], "podman": []}
    loads: dict[str, list[float]] = {"shocker": [], "podman": []}
    with world() as w:
        push(w)
        conf = w.workdir / "containers.conf"
        conf.write_text(CONTAINERS_CONF)
        podman_env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                      "HOME": str(w.workdir), "CONTAINERS_CONF": str(conf)}  # fmt: skip
        for round_ in range(args.rounds):
            # Interleaved, so a drift of the machine hits both tools alike.
            save, load = shocker_round(w, round_)
            saves["shocker"].append(save)
            loads["shocker"].append(load)
            if have_podman:
                save, load = podman_round(w, podman_env, round_)
                saves["podman"].append(save)
                loads["podman"].append(load)
    print()
    for tool in ("shocker", "podman"):
        if saves[tool]:
            print(summary(f"{tool} save -o (4 layers, 78 MB)", saves[tool]))
            print(summary(f"{tool} load -i (4 layers, 78 MB)", loads[tool]))
    podman_save = median(saves["podman"]) if saves["podman"] else None
    podman_load = median(loads["podman"]) if loads["podman"] else None
    # The issue names no goal for save and load: measured against podman, no goal to meet.
    report_figures([
        Figure("save -o, 4 layers (78 MB)", median(saves["shocker"]), "podman save", podman_save),
        Figure("load -i, 4 layers (78 MB)", median(loads["shocker"]), "podman load", podman_load),
    ])  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
