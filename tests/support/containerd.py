"""A private containerd for the runtime tests: its own root, state, config (CRI off) and
socket under a temporary directory, an image imported from a tar built here (no network),
and a clean-up that leaves nothing behind: tasks, shims, mounts, directories."""

from __future__ import annotations

import contextlib
import io
import json
import signal
import subprocess
import tarfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.support import images
from tests.support import tarbuild as tb

IMAGE = "docker.io/shocker-test/busybox:latest"


def docker_archive(path: Path, reference: str = IMAGE) -> None:
    """A `docker save` style archive of the busybox image, as `ctr images import` reads it."""
    layer = tb.tar_bytes(images.busybox_members())
    config = images.image_config([images.layer(images.busybox_members(), tb.PLAIN)])
    config_bytes = json.dumps(config).encode()
    manifest = [{"Config": "config.json", "RepoTags": [reference], "Layers": ["layer.tar"]}]
    with tarfile.open(path, "w") as archive:
        for name, data in (
            ("layer.tar", layer),
            ("config.json", config_bytes),
            ("manifest.json", json.dumps(manifest).encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


class Containerd:
    """One running containerd; `ctr(...)` talks to it."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.socket = base / "containerd.sock"
        self.root = base / "root"
        self.state = base / "state"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        config = self.base / "config.toml"
        config.write_text(
            "version = 2\n"
            f'root = "{self.root}"\n'
            f'state = "{self.state}"\n'
            'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
            f'[grpc]\n  address = "{self.socket}"\n'
            f'[ttrpc]\n  address = "{self.socket}.ttrpc"\n'
            '[debug]\n  address = ""\n[metrics]\n  address = ""\n'
        )
        log = open(self.base / "containerd.log", "wb")  # noqa: SIM115 - lives with the daemon
        self.process = subprocess.Popen(
            ["containerd", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.socket.exists() and self.ctr("version", check=False).returncode == 0:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(
            f"containerd did not start: {(self.base / 'containerd.log').read_text()}"
        )

    def ctr(
        self, *args: str, check: bool = True, timeout: float = 60, input: bytes | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["ctr", "--address", str(self.socket), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            input=None if input is None else input.decode(),
        )
        if check and result.returncode != 0:
            raise AssertionError(f"ctr {' '.join(args)}: {result.returncode}\n{result.stderr}")
        return result

    def clean_containers(self) -> None:
        """Kill and delete every task and container (their shims exit with them)."""
        listing = self.ctr("containers", "list", "-q", check=False).stdout.split()
        for container in listing:
            self.ctr("tasks", "kill", "-s", "SIGKILL", container, check=False)
            for _ in range(50):
                if self.ctr("tasks", "delete", container, check=False).returncode == 0:
                    break
                if "not found" in self.ctr("tasks", "ls", check=False).stdout:
                    break
                time.sleep(0.1)
            self.ctr("containers", "delete", container, check=False)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.clean_containers()
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for _ in range(3):
            for mount_point in mounts_under(self.base):
                subprocess.run(["umount", "-l", mount_point], capture_output=True, check=False)
        subprocess.run(["rm", "-rf", str(self.base)], check=False)


def mounts_under(base: Path) -> list[str]:
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point == str(base) or point.startswith(f"{base}/"):
                found.append(point)
    return sorted(found, key=len, reverse=True)


@contextlib.contextmanager
def running(base: Path) -> Iterator[Containerd]:
    daemon = Containerd(base)
    base.mkdir(parents=True, exist_ok=True)
    try:
        daemon.start()
        archive = base / "busybox.tar"
        docker_archive(archive)
        daemon.ctr("images", "import", str(archive))
        yield daemon
    finally:
        daemon.stop()


def shim_pids(socket: Path) -> Sequence[int]:
    """containerd-shim processes serving this containerd (for leak checks)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            command
            and command[0].endswith(b"containerd-shim-runc-v2")
            and (str(socket).encode() in b" ".join(command))
        ):
            found.append(int(entry.name))
    return found
