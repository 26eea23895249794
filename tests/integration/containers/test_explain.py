"""`run --explain`: the printed recipe, run by a shell, builds the same root as the container
itself. Its storage, cgroup, namespace and mount steps are run as printed (up to the
container's own process); the mount table that results is compared with the one a real
container of the same image sees."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.prereqs import require
from tests.support.shocker import Shocker, which

NAMESPACES = "# namespaces"
INSIDE = "# inside the container's namespaces"
READY = "# ready"


def _mounts(mountinfo: str) -> list[tuple[str, str, str]]:
    """(mount point, per-mount options, filesystem type) in mount order; the mount ids, the
    devices and the root's own subvolume differ from one container to the next."""
    rows = []
    for line in mountinfo.splitlines():
        fields, dash, tail = line.partition(" - ")
        if not dash or not fields.split(" ", 1)[0].isdigit():
            continue  # another command's output (btrfs prints what it snapshots)
        parts = fields.split()
        rows.append((parts[4], parts[5], tail.split()[0]))
    return rows


def _script(recipe: str) -> tuple[str, str]:
    """(the container's id, a script of the host steps and the namespace shell fed with the
    steps inside up to the container's own process, then `cat /proc/self/mountinfo`)."""
    lines = recipe.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(NAMESPACES))
    inside = next(i for i, line in enumerate(lines) if line.startswith(INSIDE))
    ready = next(i for i, line in enumerate(lines) if line.startswith(READY))
    host = lines[:start]
    snapshot = next(line for line in host if line.startswith("btrfs subvolume snapshot"))
    container_id = Path(snapshot.split()[-1]).name
    body = [*host, lines[start + 1] + " <<'RECIPE'", "set -e", *lines[inside + 1 : ready]]
    return container_id, "\n".join([*body, "cat /proc/self/mountinfo", "RECIPE"]) + "\n"


def _remove(shocker: Shocker, container_id: str, cgroup_parent: str) -> None:
    rootfs = shocker.root / container_id
    if rootfs.exists():
        subprocess.run(["btrfs", "subvolume", "delete", str(rootfs)], capture_output=True)
    shutil.rmtree(shocker.root / ".shocker" / "containers" / container_id, ignore_errors=True)
    for directory in Path("/sys/fs/cgroup").glob(f"**/{cgroup_parent}/{container_id}"):
        directory.rmdir()


def test_recipe_builds_the_same_root(shocker: Shocker, busybox_id: str) -> None:
    require(which("unshare") is not None and which("pivot_root") is not None, "util-linux")
    options = ("--network", "none", "-v", "/etc/os-release:/srv/release:ro", "--tmpfs", "/cache")
    explained = shocker("run", "--explain", *options, busybox_id, "true").check()
    container_id, script = _script(explained.out)
    # Nothing was made: no container, no rootfs, no cgroup.
    assert not (shocker.root / container_id).exists()
    assert container_id not in shocker("ps").out
    parent = shocker.env["SHOCKER_CGROUP_PARENT"]
    try:
        built = subprocess.run(
            ["sh", "-e"], input=script, capture_output=True, text=True, timeout=60,
            env=shocker.env,
        )  # fmt: skip
        assert built.returncode == 0, built.stderr
        by_recipe = _mounts(built.stdout)
    finally:
        _remove(shocker, container_id, parent)
    # The recipe is the default runtime's, /sys/fs/cgroup included (every host hierarchy
    # mounted again in the container's cgroup namespace, read-only).
    own = shocker("run", "--rm", *options, busybox_id, "cat", "/proc/self/mountinfo").check()
    assert by_recipe == _mounts(own.out)
    assert any(row[0].startswith("/sys/fs/cgroup") for row in by_recipe)
    assert all(row[1].startswith("ro") for row in by_recipe if row[0].startswith("/sys/fs/cgroup"))
    # shocker-runtime binds the container's own cgroup directories there instead; the rest
    # of its mount table is the same, in the same order.
    runtime = ("--runtime", str(Path(sys.executable).parent / "shocker-runtime"))
    ran = shocker("run", "--rm", *runtime, *options, busybox_id, "cat", "/proc/self/mountinfo")

    def outside_cgroupfs(rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
        return [row for row in rows if not row[0].startswith("/sys/fs/cgroup/")]

    assert outside_cgroupfs(by_recipe) == outside_cgroupfs(_mounts(ran.check().out))
    assert any(row[0] == "/cache" and row[2] == "tmpfs" for row in by_recipe)
    assert any(row[0] == "/srv/release" and row[1].startswith("ro") for row in by_recipe)


def test_explain_names_each_part(shocker: Shocker, busybox_id: str) -> None:
    out = shocker("run", "--explain", "-p", "8080:80", busybox_id, "true").check().out
    for fragment in (
        "btrfs subvolume snapshot",
        "unshare --pid --fork",
        "pivot_root . .",
        "ip link add vshk-",
        "iptables -t nat -A",
        "--dport 8080",
        "/sys/fs/cgroup/",
        "setpriv --reuid=0",
        "# seccomp:",
    ):
        assert fragment in out, fragment
    unconfined = shocker(
        "run", "--explain", "--security-opt", "seccomp=unconfined", busybox_id, "true"
    ).check()
    assert "# seccomp:" not in unconfined.out
    missing = shocker("run", "--explain", "no-such-image:1", "true")
    assert missing.rc == 125 and len(missing.err.splitlines()) == 1, str(missing)
