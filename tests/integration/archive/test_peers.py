"""Archives between shocker and the other tools: what skopeo writes shocker loads, names
and all; what shocker saves a private containerd imports and runs."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.archive.conftest import LAYERED_CHECK, registry_ref
from tests.support import containerd
from tests.support.catalog import ImageSet
from tests.support.images import ISSUE
from tests.support.podman import Podman
from tests.support.prereqs import have, require
from tests.support.registry import Registry
from tests.support.shocker import Shocker


@pytest.fixture(scope="module")
def ctrd(
    tmp_path_factory: pytest.TempPathFactory, prerequisites: None
) -> Iterator[containerd.Containerd]:
    require(have("containerd") and have("ctr"), "containerd (apt install containerd)")
    with containerd.running(Path(tmp_path_factory.mktemp("ctrd"))) as daemon:
        yield daemon


@pytest.mark.parametrize("archive_format", ["docker-archive", "oci-archive"])
def test_containerd_imports_and_runs_what_shocker_saved(
    fresh_shocker: Shocker,
    images: ImageSet,
    ctrd: containerd.Containerd,
    tmp_path: Path,
    archive_format: str,
) -> None:
    runc = shutil.which("runc") or shutil.which("runc", path="/usr/sbin:/usr/bin")
    require(runc is not None, "runc (apt install runc)")
    assert runc is not None
    fresh_shocker("pull", images.layered.ref).check()
    archive = tmp_path / "layered.tar"
    fresh_shocker(
        "save", "--format", archive_format, "-o", str(archive), images.layered.ref
    ).check()

    ctrd.ctr("images", "import", str(archive))

    [name] = [n for n in ctrd.ctr("images", "ls", "-q").stdout.split() if "test/layered" in n]
    try:
        container = f"archive-{secrets.token_hex(3)}"
        ran = ctrd.ctr(
            "run", "--rm", "--runc-binary", runc, name, container, "sh", "-c", LAYERED_CHECK
        )
        assert ran.stdout == ISSUE
    finally:
        ctrd.ctr("images", "rm", "--sync", name, check=False)


def test_an_archive_skopeo_wrote_loads_with_its_name(
    fresh_shocker: Shocker, images: ImageSet, registry: Registry, tmp_path: Path
) -> None:
    require(have("skopeo"), "skopeo (apt install skopeo)")
    archive = tmp_path / "skopeo.tar"
    copied = subprocess.run(
        ["skopeo", "--insecure-policy", "copy", "--quiet", "--src-tls-verify=false",
         f"docker://{registry_ref(registry, images.layered)}",
         f"docker-archive:{archive}:team/from-skopeo:2"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert copied.returncode == 0, copied.stderr

    image_id = fresh_shocker("load", "-i", str(archive)).check().created_id()

    ran = fresh_shocker(
        "run", "--rm", "--network", "none", "team/from-skopeo:2", "sh", "-c", LAYERED_CHECK
    )
    assert ran.check().out == ISSUE
    assert image_id in fresh_shocker("images", "-q").check().out


def test_every_name_of_an_image_goes_into_the_archive_and_comes_back(
    fresh_shocker: Shocker, images: ImageSet, podman: Podman, tmp_path: Path
) -> None:
    other = "127.0.0.1:5000/team/app:1"
    fresh_shocker("pull", images.layered.ref).check()
    fresh_shocker("tag", images.layered.ref, other).check()
    archive = tmp_path / "names.tar"

    fresh_shocker("save", "-o", str(archive), images.layered.ref, other).check()

    podman("load", "-i", str(archive))
    listed = podman("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert other in listed
    assert any(name.endswith("test/layered:latest") for name in listed), listed
    fresh_shocker("rmi", images.layered.ref, other).check()
    assert fresh_shocker("images", "-q").check().out == ""
    image_id = fresh_shocker("load", "-i", str(archive)).check().created_id()
    rows = fresh_shocker("images").check().lines[1:]
    assert sorted(row.split()[1] for row in rows) == sorted([images.layered.ref, other])
    assert {row.split()[0] for row in rows} == {image_id}
