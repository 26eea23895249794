"""A commit's layer is recorded pending and made on first need: what consumes a committed
image (run, history, push, save, build FROM, rmi) sees the right layers, judged by podman and
skopeo, and the same diff always gives the same digest."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.assertions import assert_one_line_error
from tests.support.catalog import ImageSet
from tests.support.podman import private_podman, skopeo_inspect
from tests.support.prereqs import have, require
from tests.support.registry import Registry
from tests.support.shocker import Shocker


def committed(shocker: Shocker, image: str, script: str, target: str) -> str:
    """`script` run in a container of `image`, committed as `target`; the new image id."""
    cid = shocker("run", "-d", "--network", "none", image, "sh", "-c", script).check()
    container = cid.out.split()[-1]
    try:
        shocker("wait", container).check()
        return shocker("commit", container, target).check().created_id()
    finally:
        shocker("rm", "-f", container).check()


def record(shocker: Shocker, image: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(shocker("inspect", image).check().out)[0]
    return data


def pending_snapshots(shocker: Shocker) -> list[str]:
    return sorted(p.name for p in (shocker.root / ".shocker/layers").glob("pending-*"))


def assert_made(data: dict[str, Any]) -> None:
    """Every layer made, and the config naming exactly those layers."""
    assert all("pending" not in layer for layer in data["layers"]), data["layers"]
    diff_ids = [layer["diff_id"] for layer in data["layers"]]
    assert data["config"]["rootfs"]["diff_ids"] == diff_ids


def two_commits(shocker: Shocker, images: ImageSet, second: str) -> tuple[str, str]:
    """busybox + /one (commit `first:1`), then + /two and /one deleted (commit `second`)."""
    shocker("pull", images.busybox.ref).check()
    first = committed(shocker, images.busybox.ref, "echo one > /one", "first:1")
    made = committed(shocker, "first:1", "echo two > /two && rm /one", second)
    return first, made


def test_a_commit_on_a_commit_is_usable_at_once_and_pushes_what_podman_runs(
    fresh_shocker: Shocker, images: ImageSet, registry: Registry
) -> None:
    target = f"{registry.host}/committed/twice:1"
    first, second = two_commits(fresh_shocker, images, target)

    # Recorded, not made: two snapshots, and everything local works on them.
    assert len(pending_snapshots(fresh_shocker)) == 2
    data = record(fresh_shocker, second)
    assert [("pending" in layer) for layer in data["layers"]][-2:] == [True, True]
    assert data["config"]["rootfs"]["diff_ids"] == list(images.busybox.diff_ids)
    history = fresh_shocker("history", "--no-trunc", target).check().lines
    assert sum("shocker commit" in line for line in history) == 2
    listed = fresh_shocker("images").check().out
    assert first in listed and second in listed
    ran = fresh_shocker("run", "--rm", "--network", "none", target, "sh", "-c",
                        "cat /two; test -e /one || echo gone")  # fmt: skip
    assert ran.check().out == "two\ngone\n"

    pushed = fresh_shocker("push", target).check()

    data = record(fresh_shocker, second)
    assert_made(data)
    # The first image names the layer made for the second, and no other.
    assert record(fresh_shocker, first)["layers"] == data["layers"][:-1]
    manifest = skopeo_inspect(target, "--raw")
    layers = manifest["layers"]
    assert isinstance(layers, list)
    assert [layer["digest"] for layer in layers] == [layer["digest"] for layer in data["layers"]]
    config = skopeo_inspect(target, "--config")
    assert config["rootfs"] == data["config"]["rootfs"]
    with private_podman() as podman:
        podman("pull", "--quiet", "--tls-verify=false", target)
        out = podman.run(target, "sh", "-c", "cat /two; test -e /one || echo gone")
        assert out == "two\ngone\n"
    again = fresh_shocker("push", target).check()
    assert again.lines[-1] == pushed.lines[-1]  # same manifest digest
    assert all(line.endswith("already exists") for line in again.lines[:-1]), str(again)


@pytest.mark.parametrize("archive_format", ["docker-archive", "oci-archive"])
def test_a_commit_saves_as_layers_podman_loads(
    fresh_shocker: Shocker, images: ImageSet, tmp_path: Path, archive_format: str
) -> None:
    require(have("podman"), "podman is needed as the oracle (apt install podman)")
    _, second = two_commits(fresh_shocker, images, "saved/commit:1")
    archive = tmp_path / "commit.tar"

    fresh_shocker("save", "--format", archive_format, "-o", str(archive), "saved/commit:1").check()

    assert_made(record(fresh_shocker, second))
    with private_podman() as podman:
        assert "saved/commit:1" in podman("load", "-i", str(archive)).stdout
        out = podman.run("saved/commit:1", "sh", "-c", "cat /two; test -e /one || echo gone")
        assert out == "two\ngone\n"


def test_the_same_commit_made_by_two_commands_at_once_is_one_layer(
    fresh_shocker: Shocker, images: ImageSet, tmp_path: Path
) -> None:
    require(have("skopeo"), "skopeo is needed as the oracle (apt install skopeo)")
    _, second = two_commits(fresh_shocker, images, "raced/commit:1")
    archives = [tmp_path / f"{n}.tar" for n in range(2)]
    saves = [
        fresh_shocker.popen("save", "--format", "oci-archive", "-o", str(a), "raced/commit:1")
        for a in archives
    ]
    for save in saves:
        _, err = save.communicate(timeout=300)
        assert save.returncode == 0, err

    data = record(fresh_shocker, second)
    assert_made(data)
    for archive in archives:
        target = tmp_path / f"{archive.stem}-dir"
        subprocess.run(
            ["skopeo", "--insecure-policy", "copy", "--quiet", f"oci-archive:{archive}",
             f"dir:{target}"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        manifest = json.loads((target / "manifest.json").read_text())
        digests = [layer["digest"] for layer in manifest["layers"]]
        assert digests == [layer["digest"] for layer in data["layers"]]


def test_a_build_from_a_commit_stands_on_its_made_layer(
    fresh_shocker: Shocker, images: ImageSet, tmp_path: Path
) -> None:
    _, second = two_commits(fresh_shocker, images, "based/commit:1")
    (tmp_path / "Dockerfile").write_text("FROM based/commit:1\nRUN cat /two > /three\n")

    built = fresh_shocker("build", "--network", "none", str(tmp_path), timeout_s=300).check()

    base = record(fresh_shocker, second)
    assert_made(base)
    image = record(fresh_shocker, built.created_id())
    assert_made(image)
    assert image["layers"][:-1] == base["layers"]
    ran = fresh_shocker("run", "--rm", "--network", "none", built.created_id(), "sh", "-c",
                        "cat /three; test -e /one || echo gone")  # fmt: skip
    assert ran.check().out == "two\ngone\n"


def test_rmi_keeps_a_pending_layer_another_commit_stands_on_and_frees_it_last(
    fresh_shocker: Shocker, images: ImageSet, tmp_path: Path
) -> None:
    fresh_shocker("pull", images.busybox.ref).check()
    layers_dir = fresh_shocker.root / ".shocker/layers"
    blobs_dir = fresh_shocker.root / ".shocker/blobs/sha256"
    pulled, pulled_blobs = set(layers_dir.iterdir()), set(blobs_dir.iterdir())
    first, second = two_commits(fresh_shocker, images, "kept/commit:1")

    fresh_shocker("rmi", first).check()

    assert len(pending_snapshots(fresh_shocker)) == 2  # the second names both
    archive = tmp_path / "kept.tar"
    fresh_shocker("save", "-o", str(archive), "kept/commit:1").check()
    assert_made(record(fresh_shocker, second))
    ran = fresh_shocker("run", "--rm", "--network", "none", "kept/commit:1", "cat", "/two")
    assert ran.check().out == "two\n"

    fresh_shocker("rmi", second).check()

    assert pending_snapshots(fresh_shocker) == []
    assert set(layers_dir.iterdir()) == pulled
    assert set(blobs_dir.iterdir()) == pulled_blobs


def test_a_pending_layer_whose_snapshot_is_gone_is_refused_not_made_empty(
    fresh_shocker: Shocker, images: ImageSet, tmp_path: Path
) -> None:
    fresh_shocker("pull", images.busybox.ref).check()
    image = committed(fresh_shocker, images.busybox.ref, "echo one > /one", "damaged:1")
    [snapshot] = pending_snapshots(fresh_shocker)
    subprocess.run(
        ["btrfs", "subvolume", "delete", str(fresh_shocker.root / ".shocker/layers" / snapshot)],
        capture_output=True, check=True,
    )  # fmt: skip

    result = fresh_shocker("save", "-o", str(tmp_path / "damaged.tar"), "damaged:1")

    assert_one_line_error(result, f"{snapshot} is missing")
    assert not (tmp_path / "damaged.tar").exists()
    assert "pending" in record(fresh_shocker, image)["layers"][-1]
