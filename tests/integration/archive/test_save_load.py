"""`shocker save` and `shocker load` against podman and skopeo: each reads what the other
writes, in both archive formats, and the images run with the same files."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.integration.archive.conftest import LAYERED_CHECK, registry_ref
from tests.support.assertions import image_rows
from tests.support.catalog import ImageSet
from tests.support.images import ISSUE
from tests.support.podman import Podman
from tests.support.prereqs import have, require
from tests.support.registry import Registry
from tests.support.shocker import Shocker

FORMATS = ("docker-archive", "oci-archive")


def _layer_count(shocker: Shocker) -> int:
    return len(list((shocker.root / ".shocker" / "layers").iterdir()))


@pytest.mark.parametrize("archive_format", FORMATS)
def test_an_image_shocker_saved_loads_and_runs_in_podman(
    fresh_shocker: Shocker, images: ImageSet, podman: Podman, tmp_path: Path, archive_format: str
) -> None:
    fresh_shocker("pull", images.layered.ref).check()
    archive = tmp_path / "layered.tar"

    fresh_shocker(
        "save", "--format", archive_format, "-o", str(archive), images.layered.ref
    ).check()

    loaded = podman("load", "-i", str(archive))
    assert "test/layered:latest" in loaded.stdout
    ran = podman(
        "run", "--rm", "--network", "none", "test/layered:latest", "sh", "-c", LAYERED_CHECK
    )
    assert ran.stdout == ISSUE


def test_save_writes_what_docker_save_writes(
    fresh_shocker: Shocker, images: ImageSet, tmp_path: Path
) -> None:
    fresh_shocker("pull", images.layered.ref).check()
    archive = tmp_path / "layered.tar"

    fresh_shocker("save", "-o", str(archive), images.layered.ref).check()

    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        repositories = json.load(tar.extractfile("repositories"))  # type: ignore[arg-type]
        [entry] = manifest
        config = json.load(tar.extractfile(entry["Config"]))  # type: ignore[arg-type]
        diff_ids = []
        for name in entry["Layers"]:
            diff_ids.append("sha256:" + hashlib.sha256(tar.extractfile(name).read()).hexdigest())  # type: ignore[union-attr]
    assert entry["RepoTags"] == [images.layered.ref]
    assert config["rootfs"]["diff_ids"] == diff_ids == list(images.layered.diff_ids)
    assert list(repositories) == ["test/layered"]


@pytest.mark.parametrize("archive_format", FORMATS)
def test_an_image_podman_saved_loads_and_runs_in_shocker(
    fresh_shocker: Shocker,
    images: ImageSet,
    registry: Registry,
    podman: Podman,
    tmp_path: Path,
    archive_format: str,
) -> None:
    ref = registry_ref(registry, images.layered)
    podman("pull", "--quiet", "--tls-verify=false", ref)
    archive = tmp_path / "from-podman.tar"
    podman("save", "--format", archive_format, "-o", str(archive), ref)

    result = fresh_shocker("load", "-i", str(archive)).check()

    image_id = result.created_id()
    assert result.lines == [f"Created: {image_id}"]
    assert image_rows(fresh_shocker("images").check())[image_id][0] == ref
    ran = fresh_shocker("run", "--rm", "--network", "none", ref, "sh", "-c", LAYERED_CHECK)
    assert ran.check().out == ISSUE


def test_load_reads_podman_archives_of_several_images_from_stdin(
    fresh_shocker: Shocker,
    images: ImageSet,
    registry: Registry,
    podman: Podman,
    tmp_path: Path,
) -> None:
    refs = [registry_ref(registry, images.layered), registry_ref(registry, images.busybox)]
    for ref in refs:
        podman("pull", "--quiet", "--tls-verify=false", ref)
    archive = tmp_path / "two.tar"
    podman("save", "-m", "-o", str(archive), *refs)

    with open(archive, "rb") as stdin:
        done = subprocess.run(
            fresh_shocker.argv("load"), stdin=stdin, env=dict(fresh_shocker.env),
            capture_output=True, text=True, check=False,
        )  # fmt: skip

    assert done.returncode == 0, done.stderr
    created = [line.split()[1] for line in done.stdout.splitlines()]
    assert len(created) == 2 and all(
        line.startswith("Created: ") for line in done.stdout.splitlines()
    )
    rows = image_rows(fresh_shocker("images").check())
    assert sorted(rows[i][0] for i in created) == sorted(refs)
    # The busybox layer both images hold is stored once: 3 layers of layered, none more.
    assert _layer_count(fresh_shocker) == 3


def test_save_of_several_images_writes_one_entry_each_and_loads_back(
    fresh_shocker: Shocker, images: ImageSet, tmp_path: Path
) -> None:
    fresh_shocker("pull", images.layered.ref).check()
    fresh_shocker("pull", images.layered_sibling.ref).check()
    archive = tmp_path / "two.tar"
    fresh_shocker(
        "save", "-o", str(archive), images.layered.ref, images.layered_sibling.ref
    ).check()
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        layer_members = [m for m in tar.getnames() if m.endswith(".tar")]
    assert [entry["RepoTags"] for entry in manifest] == [
        [images.layered.ref],
        [images.layered_sibling.ref],
    ]
    assert len(layer_members) == 4  # the two shared layers written once

    for image_id in list(image_rows(fresh_shocker("images").check())):
        fresh_shocker("rmi", image_id).check()
    result = fresh_shocker("load", "-i", str(archive)).check()

    created = [line.split()[1] for line in result.lines]
    assert result.lines[-1] == f"Created: {created[-1]}" and len(created) == 2
    rows = image_rows(fresh_shocker("images").check())
    assert [rows[i][0] for i in created] == [images.layered.ref, images.layered_sibling.ref]
    ran = fresh_shocker(
        "run", "--rm", "--network", "none", images.layered.ref, "sh", "-c", LAYERED_CHECK
    )
    assert ran.check().out == ISSUE


def test_an_image_made_by_init_saves_as_one_layer_podman_runs(
    fresh_shocker: Shocker, podman: Podman, tmp_path: Path
) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    (rootfs / "bin/busybox").write_bytes(Path("/bin/busybox").read_bytes())
    (rootfs / "bin/busybox").chmod(0o755)
    (rootfs / "bin/sh").symlink_to("busybox")
    (rootfs / "hello").write_text("from init\n")
    fresh_shocker("init", str(rootfs), "--name", "made/by-init:1").check()
    archive = tmp_path / "init.tar"

    fresh_shocker("save", "-o", str(archive), "made/by-init:1").check()

    podman("load", "-i", str(archive))
    ran = podman(
        "run", "--rm", "--network", "none", "made/by-init:1", "/bin/busybox", "cat", "/hello"
    )
    assert ran.stdout == "from init\n"


def test_skopeo_reads_both_archive_formats(
    fresh_shocker: Shocker, images: ImageSet, tmp_path: Path
) -> None:
    require(have("skopeo"), "skopeo is needed as the oracle (apt install skopeo)")
    fresh_shocker("pull", images.layered.ref).check()
    for archive_format, transport in zip(FORMATS, ("docker-archive", "oci-archive"), strict=True):
        archive = tmp_path / f"{archive_format}.tar"
        fresh_shocker(
            "save", "--format", archive_format, "-o", str(archive), images.layered.ref
        ).check()
        target = tmp_path / f"{archive_format}-dir"
        copied = subprocess.run(
            ["skopeo", "--insecure-policy", "copy", "--quiet", f"{transport}:{archive}",
             f"dir:{target}"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert copied.returncode == 0, copied.stderr
        inspected = subprocess.run(
            ["skopeo", "inspect", "--config", f"dir:{target}"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert json.loads(inspected.stdout)["rootfs"]["diff_ids"] == list(images.layered.diff_ids)


def test_a_loaded_image_names_its_layers_so_rmi_frees_them(
    fresh_shocker: Shocker, images: ImageSet, tmp_path: Path
) -> None:
    fresh_shocker("pull", images.layered.ref).check()
    archive = tmp_path / "layered.tar"
    fresh_shocker("save", "-o", str(archive), images.layered.ref).check()
    fresh_shocker("rmi", images.layered.ref).check()
    image_id = fresh_shocker("load", "-i", str(archive)).check().created_id()
    assert _layer_count(fresh_shocker) == 3

    fresh_shocker("rmi", image_id).check()

    assert _layer_count(fresh_shocker) == 0
    assert list((fresh_shocker.root / ".shocker" / "blobs" / "sha256").iterdir()) == []


@pytest.mark.parametrize("archive_format", FORMATS)
def test_loading_an_archive_again_gives_the_same_image(
    fresh_shocker: Shocker, images: ImageSet, tmp_path: Path, archive_format: str
) -> None:
    pulled = fresh_shocker("pull", images.layered.ref).check().created_id()
    archive = tmp_path / "layered.tar"
    save = ("save", "--format", archive_format, "-o", str(archive), images.layered.ref)
    fresh_shocker(*save).check()

    # The pulled image is the same image (config and layers): loading names it again.
    assert fresh_shocker("load", "-i", str(archive)).check().lines == [f"Loaded: {pulled}"]
    fresh_shocker("rmi", pulled).check()
    first = fresh_shocker("load", "-i", str(archive)).check().created_id()
    layers = _layer_count(fresh_shocker)
    fresh_shocker("tag", first, "other/name:1").check()
    fresh_shocker("rmi", images.layered.ref).check()  # a name the archive gives back

    again = fresh_shocker("load", "-i", str(archive)).check()

    assert again.lines == [f"Loaded: {first}"]
    assert set(fresh_shocker("images", "-q").check().lines) == {first}
    assert _layer_count(fresh_shocker) == layers
    rows = fresh_shocker("images").check().lines[1:]
    assert {row.split()[1] for row in rows} == {images.layered.ref, "other/name:1"}
