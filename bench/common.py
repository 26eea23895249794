"""Shared pieces of the benchmarks: a throwaway world (loop btrfs, local registry), timing."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

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
