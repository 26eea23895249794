"""podman as an oracle with storage of its own: `--root`, `--runroot` and `--tmpdir` under a
test directory (the machine's podman images stay untouched), vfs storage (no overlay mounts),
runc, cgroupfs and a file events log; everything removed afterwards."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# crun refuses this host's hybrid cgroup layout, and without CAP_SYS_RESOURCE in the
# container nobody may raise RLIMIT_NPROC to podman's default: ask for plain limits.
CONTAINERS_CONF = """[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
"""


@dataclass(frozen=True)
class Podman:
    base: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(self.base),
            "CONTAINERS_CONF": str(self.base / "containers.conf"),
        }

    def argv(self, *args: str) -> list[str]:
        return [
            "podman",
            "--root", str(self.base / "root"),
            "--runroot", str(self.base / "run"),
            "--tmpdir", str(self.base / "tmp"),
            "--storage-driver", "vfs",
            *args,
        ]  # fmt: skip

    def __call__(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self.argv(*args),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"podman {' '.join(args)}: {result.returncode}\n{result.stdout}{result.stderr}"
            )
        return result

    def run(self, image: str, *command: str) -> str:
        """stdout of `command` in a throwaway container of `image`, without a network."""
        return self("run", "--rm", "--network", "none", image, *command).stdout


def skopeo_inspect(reference: str, *flags: str, creds: str | None = None) -> dict[str, object]:
    """`skopeo inspect` of `docker://reference` over plain HTTP, parsed."""
    argv = ["skopeo", "inspect", "--tls-verify=false", *flags]
    if creds is not None:
        argv += ["--creds", creds]
    done = subprocess.run(
        [*argv, f"docker://{reference}"], capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise AssertionError(f"skopeo inspect {reference}: {done.returncode}\n{done.stderr}")
    parsed: dict[str, object] = json.loads(done.stdout)
    return parsed


def _mounts_under(base: Path) -> list[str]:
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4]
        if point == str(base) or point.startswith(f"{base}/"):
            found.append(point)
    return sorted(found, key=len, reverse=True)


@contextlib.contextmanager
def private_podman() -> Iterator[Podman]:
    """podman with a state directory of its own, under /tmp: podman refuses a runroot
    path longer than 50 characters, as pytest's temporary directories are."""
    base = Path(tempfile.mkdtemp(prefix="shkpm-", dir="/tmp"))
    (base / "containers.conf").write_text(CONTAINERS_CONF)
    podman = Podman(base)
    try:
        yield podman
    finally:
        podman("rm", "--all", "--force", check=False)
        podman("system", "reset", "--force", check=False)
        for point in _mounts_under(base):
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)
