"""commit (in place, as the original, and to a new name) and volumes."""

from __future__ import annotations

import json
import tarfile
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
    shocker("rmi", "-f", target).check()  # its containers are stopped


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


def test_commit_to_a_name_adds_one_diff_layer_on_the_base_layers(
    shocker: Shocker, busybox_id: str, containers: list[str], tmp_path: Path
) -> None:
    base = json.loads(shocker("inspect", busybox_id).check().out)[0]
    script = "echo new > /new-file; rm /bin/vi; mkdir -p /d; echo x > /d/x"
    shocker("run", "--name", "diff-committer", busybox_id, "sh", "-c", script).check()
    containers.append("diff-committer")

    image_id = (
        shocker("commit", "-c", "ENV COMMITTED=yes", "diff-committer", "diffed:1")
        .check()
        .created_id()
    )
    try:
        pending = json.loads(shocker("inspect", image_id).check().out)[0]
        # Recorded, not made yet: the base's layers and one pending layer on top.
        assert pending["layers"][:-1] == base["layers"]
        assert set(pending["layers"][-1]) == {"pending", "media_type", "epoch"}
        assert pending["config"]["rootfs"] == base["config"]["rootfs"]
        env = pending["config"]["config"]["Env"]
        assert "COMMITTED=yes" in env
        assert any(e.startswith("PATH=") for e in env)
        history = pending["config"]["history"]
        assert len(history) == len(base["config"].get("history") or []) + 1

        # A save needs the layer: it is made and recorded.
        shocker("save", "-o", str(tmp_path / "saved.tar"), "diffed:1").check()
        data = json.loads(shocker("inspect", image_id).check().out)[0]
        layers = data["layers"]
        assert layers[:-1] == base["layers"]
        assert len(layers) == len(base["layers"]) + 1
        diff_ids = data["config"]["rootfs"]["diff_ids"]
        assert diff_ids == [layer["diff_id"] for layer in layers]
        assert data["config"]["history"] == history
        blob = Path(shocker.root) / ".shocker/blobs/sha256" / layers[-1]["digest"][7:]
        with tarfile.open(blob, "r:gz") as tar:
            names = set(tar.getnames())
        assert {"new-file", "bin/.wh.vi", "d", "d/x"} <= names
        assert not names & {"etc/hosts", "etc/hostname", "etc/resolv.conf", "proc", "dev"}
        assert not any(n.startswith("bin/") and n != "bin/.wh.vi" for n in names - {"bin"})
        out = (
            shocker(
                "run",
                "--rm",
                image_id,
                "sh",
                "-c",
                "cat /new-file /d/x; test -e /bin/vi || echo gone",
            )
            .check()
            .out
        )
        assert out == "new\nx\ngone\n"
    finally:
        shocker("rmi", image_id).check()
