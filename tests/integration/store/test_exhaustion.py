"""A container that fills the store: its writes fail with ENOSPC, the engine answers one
line instead of a traceback and leaves nothing half made, a running neighbour keeps
working, and `rm -f` gives the space back. On a small btrfs of the test's own."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.btrfs import loop_btrfs
from tests.support.catalog import ImageSet
from tests.support.shocker import Shocker


@pytest.fixture
def small_store(shocker: Shocker, images: ImageSet, tmp_path: Path) -> Iterator[Shocker]:
    with loop_btrfs(tmp_path / "small", size="300M") as mount:
        root = mount / "root"
        root.mkdir()
        small = shocker.with_env(SHOCKER_ROOT=str(root))
        small("pull", images.busybox.ref).check()
        try:
            yield small
        finally:
            for container in small("ps", "-aq").lines:
                small("rm", "-f", container)


def free_mb(path: Path) -> int:
    info = os.statvfs(path)
    return info.f_bavail * info.f_frsize // 2**20


def test_a_container_filling_the_store_fails_cleanly_and_rm_returns_the_space(
    small_store: Shocker, images: ImageSet
) -> None:
    root = small_store.root
    image = images.busybox.ref
    keeper = small_store("run", "-d", "--network", "none", image, "sleep", "600")
    keeper_id = keeper.check().lines[-1]
    before = free_mb(root)
    fill = "dd if=/dev/zero of=/fill bs=1M; echo dd-exit $?; exit 3"
    filled = small_store("run", "--name", "filler", "--network", "none", image, "sh", "-c", fill)
    assert "No space left on device" in filled.out + filled.err, str(filled)
    assert "Traceback" not in filled.err
    assert filled.rc == 3, str(filled)
    assert free_mb(root) < 8
    # Its exit is kept though the store had no room for a new record (space reserved at
    # create): ps and inspect say how it ended, not "Exited (unknown)".
    status = small_store("ps", "-a", "-f", "name=filler", "--format", "{{.Status}}").check()
    assert status.out.startswith("Exited (3) "), str(status)
    inspected = json.loads(small_store("inspect", "filler").check().out)[0]
    assert (inspected["state"], inspected["exit_code"]) == ("exited", 3), inspected
    # The neighbour keeps running and answering; the engine still lists and inspects.
    assert small_store("exec", keeper_id, "echo", "alive").check().out == "alive\n"
    listed = small_store("ps", "-aq").check().lines
    assert set(listed) >= {keeper_id}
    # A new container on a full store: it runs, or one line and nothing left behind.
    extra = small_store("run", "--rm", "--network", "none", image, "echo", "squeezed")
    if extra.rc != 0:
        assert extra.rc == 125 and len(extra.err.strip().splitlines()) == 1, str(extra)
        assert "No space left on device" in extra.err
        assert set(small_store("ps", "-aq").check().lines) == set(listed)
    small_store("rm", "-f", "filler").check()
    # btrfs frees a deleted subvolume's extents in its cleaner thread: wait for it.
    subprocess.run(["btrfs", "subvolume", "sync", str(root)], check=True, timeout=120)
    deadline = time.monotonic() + 60
    while free_mb(root) < before - 8 and time.monotonic() < deadline:
        subprocess.run(["btrfs", "filesystem", "sync", str(root)], check=True)
        time.sleep(0.5)
    assert free_mb(root) >= before - 8, (free_mb(root), before)
    after = small_store("run", "--rm", "--network", "none", image, "echo", "after")
    assert after.check().out == "after\n"
    assert small_store("exec", keeper_id, "echo", "still").check().out == "still\n"
