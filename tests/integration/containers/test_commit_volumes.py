"""commit (in place, as the original, and to a new name) and volumes."""

from __future__ import annotations

from pathlib import Path

from tests.support.shocker import Shocker


def test_commit_replaces_an_image_in_place(
    shocker: Shocker, busybox_id: str, containers: list[str]
) -> None:
    # An image of our own to replace, so the session's busybox stays intact.
    run = shocker("run", "--name", "committer", busybox_id, "sh", "-c", "echo changed > /marker")
    run.check()
    containers.append("committer")
    first = shocker("commit", "committer", "snapshot:1").check()
    target = first.created_id()
    run2 = shocker("run", "--name", "committer2", target, "sh", "-c", "echo again > /marker2")
    run2.check()
    containers.append("committer2")
    replaced = shocker("commit", "committer2", target).check()
    assert replaced.lines == [f"Removed: {target}", f"Created: {target}"]
    out = shocker("run", "--rm", target, "cat", "/marker", "/marker2").check().out
    assert out == "changed\nagain\n"
    images = shocker("images").check().out
    assert "snapshot:1" in images
    shocker("rmi", target).check()


def test_bind_mounts_named_volumes_and_volumes_from(
    shocker: Shocker, busybox_id: str, containers: list[str], tmp_path: Path
) -> None:
    host = tmp_path / "shared"
    host.mkdir()
    (host / "in.txt").write_text("from host\n")
    out = (
        shocker(
            "run",
            "--rm",
            "-v",
            f"{host}:/data",
            busybox_id,
            "sh",
            "-c",
            "cat /data/in.txt; echo back > /data/out.txt",
        )
        .check()
        .out
    )
    assert out == "from host\n"
    assert (host / "out.txt").read_text() == "back\n"
    ro = shocker("run", "--rm", "-v", f"{host}:/data:ro", busybox_id, "touch", "/data/x")
    assert ro.rc != 0
    same = shocker("run", "--rm", "-v", str(host), busybox_id, "cat", f"{host}/in.txt").check()
    assert same.out == "from host\n"

    shocker("run", "--rm", "-v", "keep-me:/vol", busybox_id, "sh", "-c", "echo kept > /vol/f")
    assert (
        shocker("run", "--rm", "-v", "keep-me:/vol", busybox_id, "cat", "/vol/f").check().out
        == "kept\n"
    )
    assert "keep-me" in shocker("volume", "ls").check().out

    shocker("run", "--name", "datastore", "-v", "keep-me:/vol", busybox_id, "true").check()
    containers.append("datastore")
    via = shocker("run", "--rm", "--volumes-from", "datastore", busybox_id, "cat", "/vol/f")
    assert via.check().out == "kept\n"
    shocker("rm", "datastore").check()
    containers.remove("datastore")
    shocker("volume", "rm", "keep-me").check()
    assert "keep-me" not in shocker("volume", "ls").check().out
