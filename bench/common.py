"""Shared pieces of the benchmarks: a throwaway world (loop btrfs, local registry), timing."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.btrfs import loop_btrfs, remove_tree
from tests.support.registry import Registry, running_registry
from tests.support.shocker import base_environment, cli_command


@dataclass(frozen=True)
class World:
    workdir: Path
    btrfs: Path
    registry: Registry

    def shocker_env(self, root: Path) -> dict[str, str]:
        return {
            **base_environment(),
            "SHOCKER_ROOT": str(root),
            "SHOCKER_REGISTRY": self.registry.host,
        }

    @contextlib.contextmanager
    def fresh_root(self, name: str) -> Iterator[Path]:
        """An empty SHOCKER_ROOT on the loop btrfs, deleted afterwards."""
        root = self.btrfs / name
        root.mkdir()
        try:
            yield root
        finally:
            remove_tree(root)
            self.settle()

    def settle(self) -> None:
        """Let the work a removal leaves behind finish (btrfs's cleaner dropping deleted
        subvolumes, dirty pages written back), so it is not billed to the next tool timed."""
        subprocess.run(["btrfs", "subvolume", "sync", str(self.btrfs)], capture_output=True,
                       check=False)  # fmt: skip
        os.sync()


@contextlib.contextmanager
def world(size: str = "16G") -> Iterator[World]:
    if os.geteuid() != 0:
        raise SystemExit("benchmarks need root (loop mounts)")
    with tempfile.TemporaryDirectory(prefix="shocker-bench.") as tmp:
        workdir = Path(tmp)
        with (
            loop_btrfs(workdir / "btrfs", size) as mount,
            running_registry(workdir / "registry") as reg,
        ):
            yield World(workdir, mount, reg)


def shocker_argv(*args: str) -> list[str]:
    return [*cli_command(), *args]


def timed(argv: Sequence[str], env: Mapping[str, str] | None = None) -> float:
    """Wall-clock seconds of one run; a failure stops the bench with its output."""
    start = time.perf_counter()
    result = subprocess.run(
        list(argv),
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
    return elapsed


def summary(name: str, samples: Sequence[float]) -> str:
    med = statistics.median(samples)
    spread = f"min {min(samples) * 1000:.0f} ms, max {max(samples) * 1000:.0f} ms"
    return f"{name:<36} median {med * 1000:7.0f} ms  ({spread}, n={len(samples)})"


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


@dataclass(frozen=True)
class Figure:
    """One measured goal: shocker's median against a peer's in the same run.

    `ratio` is peer / shocker (how many times faster shocker is: above 1 means faster). A goal
    is a least ratio (`at_least`), a most time for shocker (`at_most_s`), or both.
    """

    what: str
    shocker: float
    peer_name: str = ""
    peer: float | None = None
    at_least: float | None = None
    at_most_s: float | None = None

    @property
    def ratio(self) -> float | None:
        return self.peer / self.shocker if self.peer and self.shocker else None

    @property
    def goal(self) -> str:
        parts = []
        if self.at_least is not None:
            parts.append(f"ratio >= {self.at_least:g}")
        if self.at_most_s is not None:
            parts.append(f"<= {self.at_most_s * 1000:.0f} ms")
        return " and ".join(parts) or "-"

    @property
    def met(self) -> bool | None:
        checks: list[bool] = []
        if self.at_least is not None:
            ratio = self.ratio
            checks.append(ratio is not None and ratio >= self.at_least)
        if self.at_most_s is not None:
            checks.append(self.shocker <= self.at_most_s)
        return all(checks) if checks else None

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Figure:
        return cls(**doc)


FIGURES_ENV = "BENCH_FIGURES"  # bench/all.py collects every bench's figures in this file


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def figure_table(figures: Sequence[Figure]) -> str:
    header = ("figure", "shocker", "peer", "peer time", "peer/shocker", "goal", "met")
    rows = [header]
    for f in figures:
        ratio = f.ratio
        met = {True: "yes", False: "NO", None: "-"}[f.met]
        rows.append((f.what, _ms(f.shocker), f.peer_name or "-", _ms(f.peer),
                     "-" if ratio is None else f"{ratio:.2f}", f.goal, met))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def report_figures(figures: Sequence[Figure]) -> None:
    """Print the goals table; append the figures to $BENCH_FIGURES (JSON lines) when set."""
    print()
    print(figure_table(figures))
    path = os.environ.get(FIGURES_ENV)
    if path:
        import json

        with open(path, "a") as out:
            for f in figures:
                out.write(json.dumps(dataclasses.asdict(f)) + "\n")
