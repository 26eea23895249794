"""OCI runtimes: `shocker-runtime` against runc under a private containerd (`ctr run --rm
--runc-binary X IMAGE ID true`: create, start, wait and delete through the shim), and
`shocker run --rm --runtime crun|runc` against shocker's own runtime. Prints medians and
ratios; asserts nothing.

Run as root from the repository root: python -m bench.bench_runtime [--rounds N]
Without --cli the package is installed (non-editable, byte-compiled) into a throwaway venv.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.support import containerd
from tests.support.images import push_busybox
from tests.support.push import Pusher

from bench.bench_run import Figures, free_subnet, hugetlb_hierarchy, installed_cli
from bench.common import Figure, median, report_figures, summary, timed, world

TAG = f"{abs(hash(tempfile.gettempdir())) % 0xFFFF:04x}"


def _which(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")


@contextlib.contextmanager
def private_containerd() -> Iterator[containerd.Containerd]:
    # A short path: the shims' sockets live under it and unix socket paths are limited.
    with (
        tempfile.TemporaryDirectory(prefix="shk-ctrd.", dir="/tmp") as tmp,
        containerd.running(Path(tmp) / "c") as daemon,
    ):
        yield daemon


def under_ctr(daemon: containerd.Containerd, runtime: str, rounds: int, figures: Figures) -> None:
    """create + start + wait + delete of `true`, interleaved with runc's."""
    runc = _which("runc")
    if runc is None:
        figures.notes.append("runc missing: no ctr figures")
        return
    binaries = {"ctr run --rm (shocker-runtime)": runtime, "ctr run --rm (runc)": runc}
    base = ["ctr", "--address", str(daemon.socket), "run", "--rm"]

    def once(binary: str, name: str) -> float:
        return timed([*base, "--runc-binary", binary, containerd.IMAGE, name, "true"])

    for label, binary in binaries.items():
        once(binary, f"warm-{TAG}-{label[-5:-1]}")
    for round_ in range(rounds):
        for label, binary in binaries.items():
            figures.add(label, once(binary, f"bench-{TAG}-{round_}-{label[-5:-1]}"))


def shocker_runtimes(cli: Path, env: dict[str, str], rounds: int, figures: Figures) -> None:
    """`shocker run --rm --network none busybox true` with each runtime, interleaved."""
    cases: dict[str, Callable[[], float]] = {}

    def run(*extra: str) -> Callable[[], float]:
        argv = [str(cli), "run", "--rm", "--network", "none", *extra, "busybox", "true"]
        return lambda: timed(argv, env)

    cases["shocker run --rm (own runtime)"] = run()
    if _which("runc"):
        cases["shocker run --rm --runtime runc"] = run("--runtime", "runc")
    if _which("crun"):
        cases["shocker run --rm --runtime crun"] = run("--runtime", "crun")
    for case in cases.values():
        case()  # warm the page cache and the seccomp cache
    for _ in range(rounds):
        for name, case in cases.items():
            figures.add(name, case())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--cli", help="the shocker executable (default: installed afresh)")
    args = parser.parse_args()
    figures = Figures()
    with world("4G") as w:
        cli = Path(args.cli) if args.cli else installed_cli(w.workdir)
        runtime = str(cli.with_name("shocker-runtime"))
        with Pusher(w.registry.url) as pusher:
            push_busybox(pusher)
        root = w.btrfs / "root"
        root.mkdir()
        env = {
            **w.shocker_env(root),
            "SHOCKER_BRIDGE": f"shkbr{TAG}",
            "SHOCKER_SUBNET": free_subnet(int(TAG[:2], 16)),
            "SHOCKER_CGROUP_PARENT": f"shocker-bench-{TAG}",
            "SHOCKER_CHAIN_PREFIX": f"SHKBR{TAG}",
        }
        try:
            timed([str(cli), "pull", "busybox"], env)
            with hugetlb_hierarchy():
                shocker_runtimes(cli, env, args.rounds, figures)
            with private_containerd() as daemon:
                under_ctr(daemon, runtime, args.rounds, figures)
        finally:
            subprocess.run([str(cli), "network", "prune"], env=env, capture_output=True)
            for cgroup in Path("/sys/fs/cgroup").glob(f"*/shocker-bench-{TAG}"):
                with contextlib.suppress(OSError):
                    cgroup.rmdir()
    for name, samples in figures.samples.items():
        print(summary(name, samples), file=sys.stderr)
    for note in figures.notes:
        print(note, file=sys.stderr)

    def med(name: str) -> float | None:
        values = figures.samples.get(name)
        return median(values) if values else None

    results = []
    ours_ctr, runc_ctr = med("ctr run --rm (shocker-runtime)"), med("ctr run --rm (runc)")
    if ours_ctr is not None:
        results.append(
            Figure("shocker-runtime under ctr vs runc", ours_ctr, "runc", runc_ctr, at_least=0.5)
        )
    own = med("shocker run --rm (own runtime)")
    for other in ("crun", "runc"):
        value = med(f"shocker run --rm --runtime {other}")
        if own is not None and value is not None:
            # No goal is set for these: the figure is the cost of handing the bundle over.
            results.append(Figure(f"shocker run, own runtime vs --runtime {other}", own,
                                  f"--runtime {other}", value))  # fmt: skip
    report_figures(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
