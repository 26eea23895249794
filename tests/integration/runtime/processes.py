"""Runtime test processes: the client driver, and finding the processes of a container."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

DRIVER = Path(__file__).with_name("driver.py")
SRC = Path(__file__).resolve().parents[3] / "src"


@dataclass
class Client:
    """A driver process running launcher.start, and the files its callbacks leave."""

    process: subprocess.Popen[bytes]
    events: Path

    def event(self, name: str, timeout_s: float = 10) -> str:
        deadline = time.monotonic() + timeout_s
        path = self.events / name
        while not path.exists() or not path.read_text():
            if time.monotonic() > deadline:
                raise AssertionError(f"no {name} event within {timeout_s} s")
            time.sleep(0.01)
        return path.read_text()

    def pids(self) -> tuple[int, int]:
        """(container pid 1, supervisor) on the host."""
        pid, supervisor = self.event("started").split()
        return int(pid), int(supervisor)


def _root_of(pid: str) -> str | None:
    """The path, in its filesystem, of the mount a process sees as "/" (mountinfo(5))."""
    try:
        with open(f"/proc/{pid}/mountinfo") as f:
            for line in f:
                fields = line.split()
                if fields[4] == "/":
                    return fields[3]
    except OSError:
        return None
    return None


def container_processes(root: Path) -> list[int]:
    """Processes whose root is the rootfs (readlink of /proc/pid/root says "/" for them)."""
    return [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and _root_of(entry.name) == str(root)
    ]
