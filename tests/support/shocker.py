"""Run the shocker CLI as a subprocess with a prepared environment -> Result(rc, out, err)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def cli_command() -> list[str]:
    """The installed `shocker` next to this interpreter, else `python -m shocker`.

    SHOCKER_TEST_CLI overrides it (a path to an executable).
    """
    override = os.environ.get("SHOCKER_TEST_CLI")
    if override:
        return [override]
    beside = Path(sys.executable).parent / "shocker"
    if beside.exists():
        return [str(beside)]
    return [sys.executable, "-m", "shocker"]


def base_environment() -> dict[str, str]:
    """A clean environment: PATH and locale from here, no SHOCKER_* or proxy leftovers."""
    env = {
        "PATH": os.environ.get(
            "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        ),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
    }
    if cli_command()[0] == sys.executable:
        # Not installed: run from the source tree.
        source = str(REPO / "src")
        existing = os.environ.get("PYTHONPATH")
        env["PYTHONPATH"] = f"{source}:{existing}" if existing else source
    # PATH may lack sbin under sudo -E or CI; shocker calls mkfs.btrfs, iptables, losetup.
    for directory in ("/usr/sbin", "/sbin"):
        if directory not in env["PATH"].split(":"):
            env["PATH"] += f":{directory}"
    return env


@dataclass(frozen=True)
class Result:
    rc: int
    out: str
    err: str
    argv: tuple[str, ...] = ()

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()

    def __str__(self) -> str:
        command = " ".join(self.argv)
        return f"$ shocker {command}\nrc={self.rc}\n--- stdout\n{self.out}--- stderr\n{self.err}"

    def check(self) -> Result:
        """Self, asserting success (the message shows the whole exchange)."""
        assert self.rc == 0, str(self)
        return self

    def created_id(self) -> str:
        """The id in the `Created: img-xxxxx` line."""
        for line in self.lines:
            if line.startswith("Created: "):
                return line.split()[1]
        raise AssertionError(f"no 'Created:' line\n{self}")


@dataclass(frozen=True)
class Shocker:
    """A callable runner: `shocker("pull", "busybox")`; `env` is the whole child environment."""

    env: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 120.0

    @property
    def root(self) -> Path:
        return Path(self.env["SHOCKER_ROOT"])

    def with_env(self, **changes: str | None) -> Shocker:
        """A runner with variables set (or removed, with None)."""
        env = dict(self.env)
        for key, value in changes.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return replace(self, env=env)

    def argv(self, *args: str) -> list[str]:
        return [*cli_command(), *args]

    def __call__(
        self, *args: str, input: str | None = None, timeout_s: float | None = None
    ) -> Result:
        completed = subprocess.run(
            self.argv(*args),
            env=dict(self.env),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_s or self.timeout_s,
            check=False,
        )
        return Result(completed.returncode, completed.stdout, completed.stderr, tuple(args))

    def popen(self, *args: str, **options: object) -> subprocess.Popen[str]:
        """Start the CLI without waiting (the caller waits or kills it by its pid)."""
        settings: dict[str, object] = {
            "stdin": subprocess.DEVNULL,
            "stdout": subprocess.PIPE,
            "stderr": subprocess.PIPE,
            "text": True,
            **options,
        }
        return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
            self.argv(*args), env=dict(self.env), **settings
        )


def which(program: str) -> str | None:
    return shutil.which(program, path=base_environment()["PATH"])
