"""shocker in shocker: a `--privileged -v ROOT:/var/shocker` container with Python and shocker
inside pulls, runs and lists containers of the same store; its `ps` shows the container it
runs in as Up (liveness is the supervisor's lock in the metadata directory, which holds
across pid namespaces), and so does the host's."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from tests.integration.containers.conftest import wait_until
from tests.support.catalog import ImageSet
from tests.support.shocker import Shocker

DONE = "inner: done"


def _python_image(shocker: Shocker, directory: Path) -> str:
    """An image of mount points only: the host's /usr, Python and the venv are bound in."""
    for name in ("usr", "etc", "proc", "sys", "dev", "tmp", "root", "run", "var/shocker"):
        (directory / name).mkdir(parents=True)
    for link in ("bin", "sbin", "lib", "lib64"):
        (directory / link).symlink_to(f"usr/{link}")
    (directory / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (directory / "etc/group").write_text("root:x:0:\n")
    # As an image with Python has it: the loader's cache, where ctypes finds libseccomp.
    shutil.copy("/etc/ld.so.cache", directory / "etc")
    return shocker("init", str(directory), "--name", "python-host:1").check().created_id()


def _binds() -> list[str]:
    """/usr, the interpreter's prefix and the venv, read-only at the same paths."""
    kept: list[str] = []
    for path in ("/usr", sys.base_prefix, sys.prefix):
        if not any(path == p or path.startswith(p + "/") for p in kept):
            kept.append(path)
    return [arg for path in kept for arg in ("-v", f"{path}:{path}:ro")]


def test_shocker_in_shocker(fresh_shocker: Shocker, images: ImageSet, tmp_path: Path) -> None:
    shocker = fresh_shocker
    image = _python_image(shocker, tmp_path / "rootfs")
    inner = " && ".join(
        [
            f"shocker pull {images.busybox.name}:{images.busybox.tag}",
            f"shocker run --rm --network none {images.busybox.name}:{images.busybox.tag} "
            "cat /etc/issue",
            "shocker ps",
            "shocker images",
            f"echo '{DONE}'",
        ]
    )
    outer = shocker(
        "run", "-d", "--privileged", "--network", "host",
        "-v", f"{shocker.root}:/var/shocker", *_binds(),
        "-e", f"SHOCKER_REGISTRY={shocker.env['SHOCKER_REGISTRY']}",
        "-e", f"PATH={sys.prefix}/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        image, "sh", "-c", f"{inner}; exec sleep 60",
    ).check().lines[-1]  # fmt: skip
    try:
        # DONE on a line of its own: the inner ps shows the command, DONE in it, earlier.
        def done() -> bool:
            return DONE in shocker("logs", outer).out.splitlines()

        assert wait_until(done, 120), shocker("logs", outer)
        log = shocker("logs", outer).check().out
        assert "Welcome to shocker's busybox" in log, log
        inner_ps = [line for line in log.splitlines() if line.startswith(outer)]
        assert len(inner_ps) == 1 and " Up " in inner_ps[0], log
        assert "busybox" in log.partition("IMAGE_ID")[2], log
        rows = shocker("ps").check().lines[1:]
        # The host sees the same: the outer container up, the inner one gone with --rm.
        assert len(rows) == 1 and rows[0].startswith(outer) and " Up " in rows[0], rows
        assert any("busybox" in line for line in shocker("images").check().lines)
    finally:
        removed = shocker("rm", "-f", outer)
    assert removed.rc == 0 and "warning" not in removed.err, str(removed)
