"""`build` of a 20-step Dockerfile, cold (`--no-cache`, the base image already held) and
fully cached (nothing changed), shocker against `podman build` in the same run. Prints
medians and the goals; asserts nothing.

Run as root from the repository root: python -m bench.bench_build [--rounds N] [--cli PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.support.images import push_busybox
from tests.support.push import Pusher
from tests.support.shocker import cli_command

from bench.bench_pull import CONTAINERS_CONF, podman_storage
from bench.bench_run import hugetlb_hierarchy
from bench.common import Figure, World, median, report_figures, summary, timed, world

# 20 steps: FROM plus 19 instructions of every common kind, 5 of them RUN and 3 COPY.
DOCKERFILE = """FROM {base}
ENV APP=/app MODE=bench
LABEL org.example.bench=build
WORKDIR /app
COPY src/ /app/src/
RUN mkdir -p /app/out && echo one > /app/out/1
ARG LEVEL=3
ENV LEVEL=$LEVEL
COPY data.bin /app/data.bin
RUN cat /app/data.bin > /dev/null && echo two > /app/out/2
RUN for i in 1 2 3 4 5; do echo $i; done > /app/out/seq
EXPOSE 8080
USER root
COPY config.txt /etc/app.conf
RUN sed -i s/x/y/ /etc/app.conf
VOLUME /app/state
RUN rm /app/out/1
STOPSIGNAL SIGTERM
ENTRYPOINT ["cat"]
CMD ["/etc/app.conf"]
"""
STEPS = 20
SOURCE_FILES = 50
DATA_BYTES = 4 << 20


def make_context(world: World, base: str, name: str) -> Path:
    """The same context for both tools; only the FROM line names each one's base."""
    context = world.workdir / name
    (context / "src").mkdir(parents=True)
    rng = random.Random(20)
    for i in range(SOURCE_FILES):
        (context / "src" / f"module{i}.py").write_text(f"VALUE = {i}\n" * 40)
    (context / "data.bin").write_bytes(rng.randbytes(DATA_BYTES))
    (context / "config.txt").write_text("x = 1\n")
    (context / "Dockerfile").write_text(DOCKERFILE.format(base=base))
    return context


def checked(argv: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


@contextlib.contextmanager
def podman_env(world: World) -> Iterator[dict[str, str]]:
    conf = world.workdir / "containers.conf"
    conf.write_text(CONTAINERS_CONF)
    yield {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": str(world.workdir),
        "CONTAINERS_CONF": str(conf),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cli", type=Path, help="a shocker to measure (default: the venv's)")
    parser.add_argument("--skip-podman", action="store_true")
    args = parser.parse_args()
    cli = [str(args.cli)] if args.cli else cli_command()
    have_podman = not args.skip_podman and shutil.which("podman") is not None
    times: dict[str, list[float]] = {}

    def add(name: str, seconds: float) -> None:
        times.setdefault(name, []).append(seconds)

    with world() as w, hugetlb_hierarchy(), podman_env(w) as penv, w.fresh_root("build") as root:
        with Pusher(w.registry.url) as pusher:
            push_busybox(pusher)
        env = w.shocker_env(root)
        checked([*cli, "pull", "busybox"], env)
        ours = make_context(w, "busybox", "context-shocker")
        flags = ["--network", "none", "-t", "bench/app", str(ours)]
        build, cold = [*cli, "build", *flags], [*cli, "build", "--no-cache", *flags]
        first = checked(build, env).splitlines()[-1]
        with contextlib.ExitStack() as stack:
            podman: list[str] | None = None
            if have_podman:
                podman = stack.enter_context(podman_storage(w, "podman-build"))
                base = f"{w.registry.host}/library/busybox:latest"
                checked([*podman, "pull", "--quiet", "--tls-verify=false", base], penv)
                theirs = make_context(w, base, "context-podman")
                podman_flags = [
                    "--quiet",
                    "--layers",
                    "--tls-verify=false",
                    "--network",
                    "none",
                    "-t",
                    "bench/app",
                    str(theirs),
                ]
                podman_build = [*podman, "build", *podman_flags]
                podman_cold = [*podman, "build", "--no-cache", *podman_flags]
                checked(podman_build, penv)
            for _ in range(args.rounds):
                add("shocker cold", timed(cold, env))
                add("shocker cached", timed(build, env))
                if podman is not None:
                    add("podman cold", timed(podman_cold, penv))
                    add("podman cached", timed(podman_build, penv))
            again = checked(build, env).splitlines()[-1]
            print(f"shocker: {first} first, {again} after the rounds (cached: same when equal)")
    print()
    for name, samples in times.items():
        print(summary(f"{name} build ({STEPS} steps)", samples))
    cold_s, cached_s = median(times["shocker cold"]), median(times["shocker cached"])
    podman_cold_s = median(times["podman cold"]) if "podman cold" in times else None
    podman_cached_s = median(times["podman cached"]) if "podman cached" in times else None
    report_figures(
        [
            Figure(f"build cold, {STEPS} steps", cold_s, "podman", podman_cold_s, at_least=1.0),
            Figure(
                f"build fully cached, {STEPS} steps",
                cached_s,
                "podman",
                podman_cached_s,
                at_least=3.0,
            ),
        ]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
