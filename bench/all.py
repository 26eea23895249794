"""Every benchmark in bench/ (each `bench_*.py`, one after another), then one table of every
figure: shocker, peer, ratio, goal, met. Measures, never asserts.

Run as root from the repository root: python -m bench.all [--rounds N] [--only NAME,...]
Each benchmark's own output goes to stderr as it runs; the table to stdout at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import FIGURES_ENV, Figure, figure_table

BENCH = Path(__file__).resolve().parent


def benchmarks() -> list[str]:
    """Module names of every benchmark here (bench_pull, bench_run, ...), sorted."""
    return sorted(path.stem for path in BENCH.glob("bench_*.py"))


def run_one(name: str, rounds: int | None, figures_file: Path) -> tuple[int, float]:
    argv = [sys.executable, "-m", f"bench.{name}"]
    if rounds is not None:
        argv += ["--rounds", str(rounds)]
    print(f"== {' '.join(argv[1:])}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    result = subprocess.run(
        argv,
        cwd=BENCH.parent,
        env={**os.environ, FIGURES_ENV: str(figures_file)},
        stdout=sys.stderr,
        check=False,
    )
    return result.returncode, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, help="rounds for every benchmark (default: theirs)")
    parser.add_argument("--only", help="comma-separated benchmarks, e.g. bench_pull,bench_run")
    args = parser.parse_args()
    names = benchmarks()
    if args.only:
        wanted = {n if n.startswith("bench_") else f"bench_{n}" for n in args.only.split(",")}
        unknown = wanted - set(names)
        if unknown:
            parser.error(f"no benchmark {', '.join(sorted(unknown))} (have {', '.join(names)})")
        names = [n for n in names if n in wanted]
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="shocker-bench-all.") as tmp:
        figures_file = Path(tmp) / "figures.jsonl"
        figures_file.touch()
        for name in names:
            code, elapsed = run_one(name, args.rounds, figures_file)
            print(f"== {name}: exit {code} after {elapsed:.0f} s", file=sys.stderr, flush=True)
            if code != 0:
                failed.append(name)
        lines = figures_file.read_text().splitlines()
    figures = [Figure.from_json(json.loads(line)) for line in lines if line.strip()]
    print(figure_table(figures))
    met = sum(1 for f in figures if f.met)
    goals = sum(1 for f in figures if f.met is not None)
    print(f"\n{met} of {goals} goals met; {len(figures)} figures from {len(names)} benchmarks")
    if failed:
        print(f"failed (their figures are missing): {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
