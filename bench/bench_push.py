"""Pushes of the ~78 MB 4-layer image to an empty local docker-registry: shocker against
skopeo copy (from a `dir:` copy of the image) and podman push (from its own storage), each
push into a registry started empty for it, so that nothing is already there to skip or
mount. Prints medians and ratios; asserts nothing.

Run as root from the repository root: python -m bench.bench_push [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys

from tests.support.registry import running_registry

from bench.bench_pull import CONTAINERS_CONF, IMAGE, INSECURE_POLICY, podman_storage, push_images
from bench.common import Figure, World, median, report_figures, shocker_argv, summary, timed, world


def run_quiet(argv: list[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{result.stdout}{result.stderr}")


def shocker_push(w: World, env: dict[str, str], round_: int) -> float:
    with running_registry(w.workdir / f"target-shocker-{round_}") as target:
        name = f"{target.host}/bench/pushed:latest"
        run_quiet(shocker_argv("tag", IMAGE, name), env)
        try:
            return timed(shocker_argv("push", name), env)
        finally:
            run_quiet(shocker_argv("rmi", name), env)


def skopeo_push(w: World, source: str, round_: int) -> float:
    policy = w.workdir / "policy.json"
    with running_registry(w.workdir / f"target-skopeo-{round_}") as target:
        return timed(
            ["skopeo", "--policy", str(policy), "copy", "--quiet", "--dest-tls-verify=false",
             f"dir:{source}", f"docker://{target.host}/bench/pushed:latest"]
        )  # fmt: skip


def podman_push(w: World, podman: list[str], env: dict[str, str], round_: int) -> float:
    with running_registry(w.workdir / f"target-podman-{round_}") as target:
        return timed(
            [*podman, "push", "--quiet", "--tls-verify=false", f"{w.registry.host}/{IMAGE}:latest",
             f"docker://{target.host}/bench/pushed:latest"],
            env,
        )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--skip-podman", action="store_true")
    args = parser.parse_args()
    have_podman = not args.skip_podman and shutil.which("podman") is not None
    times: dict[str, list[float]] = {"shocker": [], "skopeo": [], "podman": []}
    with world() as w:
        push_images(w)
        (w.workdir / "policy.json").write_text(json.dumps(INSECURE_POLICY))
        source = w.btrfs / "skopeo-source"
        run_quiet(["skopeo", "--policy", str(w.workdir / "policy.json"), "copy", "--quiet",
                   "--src-tls-verify=false", f"docker://{w.registry.host}/{IMAGE}:latest",
                   f"dir:{source}"])  # fmt: skip
        conf = w.workdir / "containers.conf"
        conf.write_text(CONTAINERS_CONF)
        podman_env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                      "HOME": str(w.workdir), "CONTAINERS_CONF": str(conf)}  # fmt: skip
        with w.fresh_root("shocker-push") as root, podman_storage(w, "podman-push") as podman:
            env = w.shocker_env(root)
            run_quiet(shocker_argv("pull", IMAGE), env)
            if have_podman:
                run_quiet([*podman, "pull", "--quiet", "--tls-verify=false",
                           f"{w.registry.host}/{IMAGE}:latest"], podman_env)  # fmt: skip
            for round_ in range(args.rounds):
                # Interleaved, so a drift of the machine hits every tool alike.
                times["shocker"].append(shocker_push(w, env, round_))
                times["skopeo"].append(skopeo_push(w, str(source), round_))
                if have_podman:
                    times["podman"].append(podman_push(w, podman, podman_env, round_))
        shutil.rmtree(source, ignore_errors=True)

    print()
    print(summary("shocker push (4 layers, empty registry)", times["shocker"]))
    print(summary("skopeo copy dir: -> docker://", times["skopeo"]))
    if times["podman"]:
        print(summary("podman push", times["podman"]))
    pushed = median(times["shocker"])
    podman_s = median(times["podman"]) if times["podman"] else None
    report_figures([
        Figure("push, 4 layers", pushed, "skopeo copy", median(times["skopeo"]), at_least=1),
        Figure("push, 4 layers (podman)", pushed, "podman push", podman_s),
    ])  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
