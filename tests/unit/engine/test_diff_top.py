"""`diff` between two trees and `top`'s choice of ps lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from shocker.engine.diff import changes
from shocker.engine.top import select_rows
from shocker.errors import ShockerError


def tree(root: Path) -> Path:
    for directory in ("etc", "bin", "var/lib", "gone/deep"):
        (root / directory).mkdir(parents=True)
    (root / "etc/passwd").write_text("root\n")
    (root / "etc/hostname").write_text("")
    (root / "bin/sh").write_text("#!")
    (root / "gone/deep/file").write_text("x")
    (root / "bin/ash").symlink_to("sh")
    return root


def test_added_changed_and_deleted_paths_with_changed_parents(tmp_path: Path) -> None:
    import shutil

    old = tree(tmp_path / "old")
    new = tmp_path / "new"
    shutil.copytree(old, new, symlinks=True)
    (new / "var/lib/data").write_text("new")
    (new / "etc/passwd").write_text("root\nuser\n")
    shutil.rmtree(new / "gone")
    (new / "bin/ash").unlink()
    (new / "bin/ash").symlink_to("busybox")
    (new / "etc/hostname").write_text("changed by the runtime")
    lines = [f"{c.kind} {c.path}" for c in changes(old, new, {"/etc/hostname"})]
    assert lines == [
        "C /bin",
        "C /bin/ash",
        "C /etc",
        "C /etc/passwd",
        "D /gone",
        "C /var",
        "C /var/lib",
        "A /var/lib/data",
    ]


def test_identical_trees_have_no_changes(tmp_path: Path) -> None:
    import shutil

    old = tree(tmp_path / "old")
    shutil.copytree(old, tmp_path / "new", symlinks=True)
    assert changes(old, tmp_path / "new") == []


PS = """UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 10:00 ?        00:00:01 /sbin/init
root         420       1  0 10:01 ?        00:00:00 sleep 30
root         421     420  0 10:01 ?        00:00:00 sh -c echo 421 here
"""


def test_top_keeps_the_header_and_the_containers_pids() -> None:
    assert select_rows(PS, {420, 421}) == PS.splitlines()[:1] + PS.splitlines()[2:]


def test_top_without_a_pid_column_is_an_error() -> None:
    with pytest.raises(ShockerError, match="Couldn't find PID field"):
        select_rows("USER COMMAND\nroot sleep\n", {1})
