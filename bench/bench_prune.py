"""`image prune -a -f` of 200 unused images: shocker against podman, with fresh stores each
round. Prints medians and the goal; asserts nothing.

Run as root from the repository root: python -m bench.bench_prune [--rounds N] [--cli PATH]
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.support.shocker import cli_command

from bench.bench_pull import CONTAINERS_CONF, podman_storage
from bench.common import Figure, World, median, report_figures, summary, timed, world

IMAGES = 200


def tiny_rootfs(world: World) -> Path:
    source = world.workdir / "tiny-rootfs"
    if not source.exists():
        (source / "etc").mkdir(parents=True)
        (source / "etc/issue").write_text("tiny\n")
    return source


def tiny_tar(world: World) -> Path:
    path = world.workdir / "tiny.tar"
    if not path.exists():
        data = b"tiny\n"
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            info = tarfile.TarInfo("etc/issue")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        path.write_bytes(buffer.getvalue())
    return path


def shocker_prune(world: World, cli: list[str], round_: int) -> float:
    with world.fresh_root(f"prune-{round_}") as root:
        env = world.shocker_env(root)
        source = str(tiny_rootfs(world))
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda _: timed([*cli, "init", source], env), range(IMAGES)))
        listed = subprocess.run([*cli, "images", "-q"], env=env, capture_output=True, text=True)
        if len(listed.stdout.split()) < IMAGES:
            raise SystemExit(f"only {len(listed.stdout.split())} images made")
        elapsed = timed([*cli, "image", "prune", "-a", "-f"], env)
        left = subprocess.run([*cli, "images", "-q"], env=env, capture_output=True, text=True)
        if left.stdout.split():
            raise SystemExit(f"shocker image prune left {len(left.stdout.split())} images")
        return elapsed


def podman_prune(world: World, env: dict[str, str], round_: int) -> float:
    with podman_storage(world, f"podman-prune-{round_}") as podman:
        tar = str(tiny_tar(world))
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda i: timed([*podman, "import", "-q", tar, f"tiny:{i}"], env),
                          range(IMAGES)))  # fmt: skip
        return timed([*podman, "image", "prune", "-a", "-f"], env)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cli", type=Path, help="a shocker to measure (default: the venv's)")
    parser.add_argument("--skip-podman", action="store_true")
    args = parser.parse_args()
    cli = [str(args.cli)] if args.cli else cli_command()
    have_podman = not args.skip_podman and shutil.which("podman") is not None
    times: dict[str, list[float]] = {"shocker": [], "podman": []}
    with world() as w:
        conf = w.workdir / "containers.conf"
        conf.write_text(CONTAINERS_CONF)
        podman_env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                      "HOME": str(w.workdir), "CONTAINERS_CONF": str(conf)}  # fmt: skip
        for round_ in range(args.rounds):
            times["shocker"].append(shocker_prune(w, cli, round_))
            if have_podman:
                times["podman"].append(podman_prune(w, podman_env, round_))
    print()
    print(summary(f"shocker image prune -a ({IMAGES} images)", times["shocker"]))
    if times["podman"]:
        print(summary(f"podman image prune -a ({IMAGES} images)", times["podman"]))
    podman = median(times["podman"]) if times["podman"] else None
    # The issue names no goal for prune: measured against podman, no goal to meet.
    report_figures(
        [Figure(f"image prune -a of {IMAGES} images", median(times["shocker"]), "podman", podman)]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
