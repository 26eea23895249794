"""Containers: `run --rm IMG true` start-to-exit against podman and crun; 50 concurrent
`run -d`; the supervisor's memory per container; `commit` of 200 MB of changes; `ps` with
50 running and with 1,000 containers. Prints medians and ratios; asserts nothing.

Run as root from the repository root: python -m bench.bench_run [--rounds N] [--cli PATH]
Without --cli the package is installed (non-editable, byte-compiled) into a throwaway venv,
so the figures are those of the installed entry point.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.images import push_busybox
from tests.support.push import Pusher

from bench.bench_pull import CONTAINERS_CONF, podman_storage
from bench.common import Figure, World, median, report_figures, summary, timed, world

REPO = Path(__file__).resolve().parents[1]
CONCURRENT = 50
LISTED = 1000
COMMIT_MB = 200
HUGETLB = Path("/sys/fs/cgroup/hugetlb")
TAG = f"{os.getpid() % 0xFFFF:04x}"


@dataclass
class Figures:
    samples: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, seconds: float) -> None:
        self.samples.setdefault(name, []).append(seconds)

    def median(self, name: str) -> float | None:
        values = self.samples.get(name)
        return median(values) if values else None


def installed_cli(workdir: Path) -> Path:
    """`shocker` installed from this checkout into a fresh venv that sees the dev venv's deps."""
    venv = workdir / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = venv / f"lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages"
    deps = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    (site / "zz_deps.pth").write_text("\n".join(deps) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin/python"), "install",
         "--quiet", "--no-deps", str(REPO)],
        check=True, capture_output=True,
    )  # fmt: skip
    # PYTHONDONTWRITEBYTECODE may be set: without .pyc files every start recompiles.
    subprocess.run(
        [str(venv / "bin/python"), "-m", "compileall", "-q", str(site / "shocker")], check=True
    )
    return venv / "bin/shocker"


def free_subnet(third: int) -> str:
    used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    for offset in range(256):
        candidate = f"10.213.{(third + offset) % 256}."
        if candidate not in used:
            return f"{candidate}1/24"
    raise SystemExit("no free 10.213.x.0/24 subnet")


@contextlib.contextmanager
def hugetlb_hierarchy() -> Iterator[None]:
    """crun refuses a hybrid cgroup host unless hugetlb is a v1 hierarchy; undone after."""
    if HUGETLB.is_dir() and os.path.ismount(HUGETLB):
        yield
        return
    made = not HUGETLB.exists()
    if made:
        HUGETLB.mkdir()
    subprocess.run(["mount", "-t", "cgroup", "-o", "hugetlb", "cgroup", str(HUGETLB)], check=True)
    try:
        yield
    finally:
        for leftover in sorted(HUGETLB.glob("**/"), key=lambda p: len(p.parts), reverse=True):
            if leftover != HUGETLB:
                with contextlib.suppress(OSError):
                    leftover.rmdir()
        subprocess.run(["umount", str(HUGETLB)], check=False)
        if made:
            HUGETLB.rmdir()


@dataclass
class Tools:
    world: World
    cli: Path
    env: dict[str, str]
    podman: list[str] | None
    podman_env: dict[str, str]
    podman_net: str | None
    bundle: Path | None
    baseline: Path | None = None  # another installed shocker, timed in the same rounds

    def shocker(self, *args: str) -> list[str]:
        return [str(self.cli), *args]

    def run_shocker(self, *args: str) -> str:
        result = subprocess.run(self.shocker(*args), env=self.env, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"shocker {' '.join(args)}: {result.stdout}{result.stderr}")
        return result.stdout

    def run_podman(self, *args: str) -> str:
        assert self.podman is not None
        result = subprocess.run(
            [*self.podman, *args], env=self.podman_env, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise SystemExit(f"podman {' '.join(args)}: {result.stdout}{result.stderr}")
        return result.stdout

    @property
    def podman_image(self) -> str:
        return f"{self.world.registry.host}/library/busybox:latest"


def make_bundle(world: World, rootfs: Path) -> Path:
    """An OCI bundle for crun: a copy of the image's rootfs and `crun spec` running `true`."""
    bundle = world.workdir / "bundle"
    bundle.mkdir()
    subprocess.run(["cp", "-a", str(rootfs), str(bundle / "rootfs")], check=True)
    subprocess.run(["crun", "spec"], cwd=bundle, check=True)
    config = json.loads((bundle / "config.json").read_text())
    config["process"]["terminal"] = False
    config["process"]["args"] = ["true"]
    (bundle / "config.json").write_text(json.dumps(config))
    return bundle


def crun_run(bundle: Path, round_: int) -> float:
    return timed(["crun", "run", "--bundle", str(bundle), f"shk-bench-{TAG}-{round_}"])


def start_to_exit(tools: Tools, rounds: int, figures: Figures) -> None:
    cases: list[tuple[str, Callable[[int], float]]] = [
        ("shocker run --rm --network none", lambda _: timed(
            tools.shocker("run", "--rm", "--network", "none", "busybox", "true"), tools.env)),
        ("shocker run --rm (bridge)", lambda _: timed(
            tools.shocker("run", "--rm", "busybox", "true"), tools.env)),
        # The default filter against none: what seccomp costs a start (cached program).
        ("shocker run --rm --network none, seccomp=unconfined", lambda _: timed(
            tools.shocker("run", "--rm", "--network", "none", "--security-opt",
                          "seccomp=unconfined", "busybox", "true"), tools.env)),
    ]  # fmt: skip
    if tools.baseline:
        baseline = str(tools.baseline)
        cases.append(("baseline run --rm --network none", lambda _: timed(
            [baseline, "run", "--rm", "--network", "none", "busybox", "true"],
            tools.env)))  # fmt: skip
    if tools.podman:
        podman = tools.podman
        cases.append(("podman run --rm --network none", lambda _: timed(
            [*podman, "run", "--rm", "--network", "none", tools.podman_image, "true"],
            tools.podman_env)))  # fmt: skip
        if tools.podman_net:
            net = tools.podman_net
            cases.append(("podman run --rm (bridge)", lambda _: timed(
                [*podman, "run", "--rm", "--network", net, tools.podman_image, "true"],
                tools.podman_env)))  # fmt: skip
    if tools.bundle:
        bundle = tools.bundle
        cases.append(("crun run", lambda r: crun_run(bundle, r)))
    for _, case in cases:
        case(-1)  # warm caches (page cache, bridge set-up) outside the figures
    for round_ in range(rounds):
        # Interleaved, so a drift of the machine hits every tool alike.
        for name, case in cases:
            figures.add(name, case(round_))


def concurrently(argvs: Sequence[Sequence[str]], env: dict[str, str]) -> tuple[float, list[str]]:
    """Start every command at once; wall time until the last exits, and their stdouts."""
    start = time.perf_counter()
    children = [
        subprocess.Popen(
            list(a), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for a in argvs
    ]
    outputs = [child.communicate() for child in children]
    elapsed = time.perf_counter() - start
    for child, (out, err) in zip(children, outputs, strict=True):
        if child.returncode != 0:
            raise SystemExit(f"{' '.join(argvs[0])} failed ({child.returncode}): {out}{err}")
    return elapsed, [out.strip() for out, _ in outputs]


def supervisor_pss_kb(root: Path, ids: Sequence[str]) -> int:
    total = 0
    for container_id in ids:
        state = json.loads((root / ".shocker/containers" / container_id / "state.json").read_text())
        rollup = Path(f"/proc/{state['supervisor_pid']}/smaps_rollup").read_text()
        total += next(
            int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")
        )
    return total


def detached(tools: Tools, rounds: int, figures: Figures) -> None:
    """50 concurrent `run -d sleep 60`, PSS and `ps` while they run, then remove them."""
    ps_rounds = max(rounds, 10)
    for round_ in range(max(rounds // 3, 2)):
        for network in ("none", "bridge"):
            name = f"shocker 50x run -d ({network})"
            argv = tools.shocker("run", "-d", "--network", network, "busybox", "sleep", "60")
            elapsed, ids = concurrently([argv] * CONCURRENT, tools.env)
            figures.add(name, elapsed)
            if round_ == 0 and network == "bridge":
                pss = supervisor_pss_kb(Path(tools.env["SHOCKER_ROOT"]), ids)
                figures.notes.append(
                    f"supervisor PSS per running container: {pss / CONCURRENT / 1024:.2f} MB"
                    "  (target < 5 MB)"
                )
                for _ in range(ps_rounds):
                    figures.add("shocker ps (50 running)", timed(tools.shocker("ps"), tools.env))
            tools.run_shocker("rm", "-f", *ids)
            if tools.baseline and network == "none":
                argv = [str(tools.baseline), *argv[1:]]
                elapsed, ids = concurrently([argv] * CONCURRENT, tools.env)
                figures.add("baseline 50x run -d (none)", elapsed)
                tools.run_shocker("rm", "-f", *ids)
        if tools.podman:
            argv = [*tools.podman, "run", "-d", "--network", "none", tools.podman_image,
                    "sleep", "60"]  # fmt: skip
            elapsed, _ = concurrently([argv] * CONCURRENT, tools.podman_env)
            figures.add("podman 50x run -d (none)", elapsed)
            if round_ == 0:
                for _ in range(ps_rounds):
                    figures.add(
                        "podman ps (50 running)", timed([*tools.podman, "ps"], tools.podman_env)
                    )
            tools.run_podman("rm", "-f", "-t", "0", "--all")


def commits(tools: Tools, rounds: int, figures: Figures) -> None:
    fill = f"dd if=/dev/urandom of=/changes bs=1M count={COMMIT_MB} 2>/dev/null"
    cid = tools.run_shocker("run", "-d", "--network", "none", "busybox", "sh", "-c", fill).strip()
    tools.run_shocker("wait", cid)
    if tools.podman:
        tools.run_podman("run", "--name", f"commit-{TAG}", "--network", "none",
                         tools.podman_image, "sh", "-c", fill)  # fmt: skip
    # Both containers' 200 MB are dirty pages still: written back now, not during whichever
    # commit comes first (a btrfs snapshot waits for its subvolume's dirty data).
    tools.world.settle()
    for round_ in range(max(rounds // 3, 2)):
        figures.add(
            f"shocker commit ({COMMIT_MB} MB changed)",
            timed(tools.shocker("commit", cid, f"committed:{round_}"), tools.env),
        )
        if tools.podman:
            figures.add(
                f"podman commit ({COMMIT_MB} MB changed)",
                timed([*tools.podman, "commit", "-q", f"commit-{TAG}", f"committed:{round_}"],
                      tools.podman_env),
            )  # fmt: skip
    # The commit leaves its layer pending: the first save pays for the tar and the gzip.
    # Measured once, against podman's save of its committed image (no goal: a note).
    archive = tools.world.workdir / "committed.tar"
    figures.add(
        "shocker save of the commit (makes its layer)",
        timed(tools.shocker("save", "-o", str(archive), "committed:0"), tools.env),
    )
    archive.unlink(missing_ok=True)
    if tools.podman:
        figures.add(
            "podman save of its commit",
            timed(
                [*tools.podman, "save", "-q", "-o", str(archive), "committed:0"], tools.podman_env
            ),
        )
        archive.unlink(missing_ok=True)
    tools.run_shocker("rm", "-f", cid)
    if tools.podman:
        tools.run_podman("rm", "-f", f"commit-{TAG}")


def thousand(tools: Tools, rounds: int, figures: Figures) -> None:
    """1,000 exited containers made by real `run` calls, then `ps` over them."""
    argv = tools.shocker("run", "--network", "none", "busybox", "true")
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda _: timed(argv, tools.env), range(LISTED)))
    figures.notes.append(
        f"made {LISTED} exited containers in {time.perf_counter() - start:.1f} s (6 at a time)"
    )
    listed = tools.run_shocker("ps", "-q").split()
    figures.notes.append(f"shocker ps lists {len(listed)} containers")
    for _ in range(max(rounds, 10)):
        figures.add(f"shocker ps ({LISTED} containers)", timed(tools.shocker("ps"), tools.env))
    for start_at in range(0, len(listed), 200):
        tools.run_shocker("rm", "-f", *listed[start_at : start_at + 200])


@contextlib.contextmanager
def podman_world(w: World, enabled: bool) -> Iterator[tuple[list[str] | None, dict[str, str]]]:
    if not enabled:
        yield None, {}
        return
    netdir = w.workdir / "podman-networks"
    netdir.mkdir()
    conf = w.workdir / "containers.conf"
    # Without CAP_SYS_RESOURCE crun cannot raise RLIMIT_NPROC to podman's default (nor to
    # this host's hard limit, as seen here): ask for shocker's own pids limit instead.
    limits = 'default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]'
    conf.write_text(
        CONTAINERS_CONF.replace('default_ulimits = ["nofile=20000:20000"]', limits)
        + f'\n[network]\nnetwork_config_dir = "{netdir}"\n'
    )
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "HOME": str(w.workdir), "CONTAINERS_CONF": str(conf),
           "NETWORKS": str(netdir)}  # fmt: skip
    chains_before = iptables_chains()
    try:
        with podman_storage(w, "podman") as argv:
            yield argv, env
    finally:
        remove_new_netavark_chains(chains_before)


def iptables_chains() -> set[tuple[str, str]]:
    chains = set()
    for table in ("filter", "nat"):
        listing = subprocess.run(["iptables", "-t", table, "-S"], capture_output=True, text=True)
        chains |= {(table, line.split()[1]) for line in listing.stdout.splitlines()
                   if line.startswith("-N ")}  # fmt: skip
    return chains


def remove_new_netavark_chains(before: set[tuple[str, str]]) -> None:
    """netavark keeps its top chains after its last network goes: drop the ones it made here."""
    new = {c for c in iptables_chains() - before if c[1].startswith("NETAVARK")}
    for table in {t for t, _ in new}:
        rules = subprocess.run(["iptables", "-t", table, "-S"], capture_output=True, text=True)
        for line in rules.stdout.splitlines():
            words = shlex.split(line)
            if words[0] == "-A" and "-j" in words and (table, words[-1]) in new:
                subprocess.run(["iptables", "-t", table, "-D", *words[1:]], check=False)
    for table, chain in new:
        subprocess.run(["iptables", "-t", table, "-F", chain], check=False)
    for table, chain in new:
        subprocess.run(["iptables", "-t", table, "-X", chain], check=False)


@contextlib.contextmanager
def podman_bridge(tools: Tools) -> Iterator[str | None]:
    """A podman network of this run's own (name, interface, subnet), removed after."""
    name = f"shk-pb{TAG}"
    subnet = free_subnet(int(TAG, 16) % 256 + 128).rsplit(".", 1)[0] + ".0/24"
    assert tools.podman is not None
    created = subprocess.run(
        [*tools.podman, "network", "create", "--disable-dns", "--subnet", subnet, name],
        env=tools.podman_env, capture_output=True, text=True,
    )  # fmt: skip
    if created.returncode != 0:
        print(f"podman bridge unavailable: {created.stderr.strip()}")
        yield None
        return
    try:
        # podman 4.3 has no --interface-name: name the bridge in its network file instead,
        # so it cannot collide with a bridge of this machine's own.
        # netavark keeps NAME.json, CNI NAME.conflist (a bridge plugin entry per network).
        networks = Path(tools.podman_env["NETWORKS"])
        config = networks / f"{name}.json"
        if config.exists():
            network = json.loads(config.read_text())
            network["network_interface"] = name
        else:
            config = networks / f"{name}.conflist"
            network = json.loads(config.read_text())
            for plugin in network["plugins"]:
                if plugin.get("type") == "bridge":
                    plugin["bridge"] = name
        config.write_text(json.dumps(network))
        yield name
    finally:
        subprocess.run([*tools.podman, "rm", "-f", "-t", "0", "--all"], env=tools.podman_env,
                       capture_output=True, check=False)  # fmt: skip
        subprocess.run([*tools.podman, "network", "rm", "-f", name], env=tools.podman_env,
                       capture_output=True, check=False)  # fmt: skip


def remove_cgroup_parent(name: str) -> None:
    """The bench's cgroup parent on every hierarchy (children first); shocker leaves it."""
    for parent in Path("/sys/fs/cgroup").glob(f"*/{name}"):
        for cgroup in sorted(parent.glob("**/"), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                cgroup.rmdir()


def report(figures: Figures) -> None:
    print()
    for name, samples in figures.samples.items():
        print(summary(name, samples))
    print()
    for note in figures.notes:
        print(note)
    ours = figures.samples.get("shocker run --rm --network none")
    unconfined = figures.samples.get("shocker run --rm --network none, seccomp=unconfined")
    if ours and unconfined:
        # A few milliseconds under noise from other work: medians and the fastest halves.
        def fast(samples: list[float]) -> float:
            kept = sorted(samples)[: max(1, len(samples) // 2)]
            return sum(kept) / len(kept)

        cost = (median(ours) - median(unconfined)) * 1000
        fast_cost = (fast(ours) - fast(unconfined)) * 1000
        # The two run one after the other in each round: a round's difference sees the same
        # load on both sides.
        paired = median([a - b for a, b in zip(ours, unconfined, strict=True)]) * 1000
        print(
            f"seccomp's cost per start (default - unconfined): {cost:.1f} ms median, "
            f"{fast_cost:.1f} ms fastest halves, {paired:.1f} ms median of the rounds' "
            "differences  (goal <= 3)"
        )
    report_figures(goals(figures))


def goals(figures: Figures) -> list[Figure]:
    """The goals of the container figures, each against its peer in this run."""
    m = figures.median
    rows: list[Figure] = []

    def add(what: str, ours: str, peer_name: str, peer: str, **goal: float) -> None:
        value = m(ours)
        if value is not None:
            rows.append(Figure(what, value, peer_name, m(peer) if peer else None, **goal))

    add(
        "run --rm --network none",
        "shocker run --rm --network none",
        "podman",
        "podman run --rm --network none",
        at_least=4,
    )
    add("run --rm (bridge)", "shocker run --rm (bridge)", "podman", "podman run --rm (bridge)")
    add(
        "run --rm --network none vs crun",
        "shocker run --rm --network none",
        "crun run",
        "crun run",
        at_least=1 / 3,
    )
    add(
        "50 concurrent run -d (none)",
        "shocker 50x run -d (none)",
        "podman",
        "podman 50x run -d (none)",
        at_most_s=1.5,
    )
    add(
        "50 concurrent run -d (bridge)",
        "shocker 50x run -d (bridge)",
        "podman (none)",
        "podman 50x run -d (none)",
        at_most_s=2.0,
    )
    add(
        "run --rm --network none vs baseline",
        "shocker run --rm --network none",
        "baseline",
        "baseline run --rm --network none",
    )
    add(
        "50 concurrent run -d (none) vs baseline",
        "shocker 50x run -d (none)",
        "baseline",
        "baseline 50x run -d (none)",
    )
    add(
        f"commit of {COMMIT_MB} MB",
        f"shocker commit ({COMMIT_MB} MB changed)",
        "podman",
        f"podman commit ({COMMIT_MB} MB changed)",
        at_least=10,
    )
    add(
        "ps with 50 running",
        "shocker ps (50 running)",
        "podman",
        "podman ps (50 running)",
        at_most_s=0.040,
    )
    add(
        f"ps with {LISTED} containers", f"shocker ps ({LISTED} containers)", "", "", at_most_s=0.150
    )
    return rows  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--cli", type=Path, help="an installed shocker (default: install one)")
    parser.add_argument(
        "--baseline", type=Path, help="another installed shocker, timed beside it in each round"
    )
    parser.add_argument("--skip-podman", action="store_true")
    parser.add_argument("--skip-crun", action="store_true")
    parser.add_argument("--skip-thousand", action="store_true", help="no ps over 1,000")
    parser.add_argument("--only", choices=("commit",), help="only this row (after the pull)")
    args = parser.parse_args()
    have_podman = not args.skip_podman and shutil.which("podman") is not None
    have_crun = not args.skip_crun and shutil.which("crun") is not None
    figures = Figures()
    with world() as w, hugetlb_hierarchy(), podman_world(w, have_podman) as (podman, penv):
        cli = args.cli or installed_cli(w.workdir)
        with Pusher(w.registry.url) as pusher:
            push_busybox(pusher)
        with w.fresh_root("run") as root:
            env = {
                **w.shocker_env(root),
                "SHOCKER_BRIDGE": f"shk-b{TAG}",
                "SHOCKER_SUBNET": free_subnet(int(TAG, 16) % 128),
                "SHOCKER_CHAIN_PREFIX": f"SHKB{TAG.upper()}",
                "SHOCKER_CGROUP_PARENT": f"shocker-bench-{TAG}",
            }
            tools = Tools(w, cli, env, podman, penv, None, None, args.baseline)
            try:
                image_id = tools.run_shocker("pull", "busybox").split()[-1]
                if have_crun:
                    tools.bundle = make_bundle(w, root / image_id)
                if podman:
                    tools.run_podman("pull", "--quiet", "--tls-verify=false", tools.podman_image)
                with contextlib.ExitStack() as stack:
                    if podman and args.only is None:
                        tools.podman_net = stack.enter_context(podman_bridge(tools))
                    if args.only is None:
                        start_to_exit(tools, args.rounds, figures)
                        detached(tools, args.rounds, figures)
                commits(tools, args.rounds, figures)
                if not args.skip_thousand and args.only is None:
                    thousand(tools, args.rounds, figures)
            finally:
                ids = subprocess.run(tools.shocker("ps", "-q"), env=env, capture_output=True,
                                     text=True).stdout.split()  # fmt: skip
                for start_at in range(0, len(ids), 200):
                    subprocess.run(tools.shocker("rm", "-f", *ids[start_at : start_at + 200]),
                                   env=env, capture_output=True, check=False)  # fmt: skip
                subprocess.run(tools.shocker("network", "prune"), env=env, capture_output=True,
                               check=False)  # fmt: skip
                remove_cgroup_parent(env["SHOCKER_CGROUP_PARENT"])
    report(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
