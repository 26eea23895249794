"""Fixtures for the OCI runtime tests: a private containerd (session), and every test run
once with shocker-runtime and once with runc, the oracle."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import containerd
from tests.support.prereqs import require

SHOCKER_RUNTIME = str(Path(sys.executable).parent / "shocker-runtime")


@pytest.fixture(scope="session", autouse=True)
def default_cgroup_parent() -> Iterator[None]:
    """A spec without cgroupsPath puts its container under shocker-runtime/ in every
    hierarchy; `delete` removes the container's cgroup, not that parent: the session does,
    where it made it."""
    parents = [p / "shocker-runtime" for p in Path("/sys/fs/cgroup").iterdir() if p.is_dir()]
    made = [p for p in parents if not p.exists()]
    yield
    for parent in made:
        if parent.is_dir():
            parent.rmdir()  # empty by now: a leftover container cgroup fails the session


@pytest.fixture(scope="session")
def ctrd(
    tmp_path_factory: pytest.TempPathFactory, prerequisites: None
) -> Iterator[containerd.Containerd]:
    require(shutil.which("containerd") is not None, "containerd (apt-get install containerd)")
    # A short path: containerd's shim sockets live under it and unix paths are limited.
    base = Path(tmp_path_factory.mktemp("ctrd"))
    with containerd.running(base) as daemon:
        yield daemon


@pytest.fixture(params=["shocker-runtime", "runc"])
def runtime(request: pytest.FixtureRequest) -> str:
    """The runtime binary under test: ours, and runc to show the test means what it says."""
    if request.param == "runc":
        path = shutil.which("runc") or shutil.which("runc", path="/usr/sbin:/usr/bin")
        require(path is not None, "runc (apt-get install runc)")
        assert path is not None
        return path
    return SHOCKER_RUNTIME


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A bundle from `runc spec` around the busybox root filesystem, without a terminal."""
    import io
    import json
    import tarfile

    from tests.support import images
    from tests.support import tarbuild as tb

    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    with tarfile.open(fileobj=io.BytesIO(tb.tar_bytes(images.busybox_members()))) as archive:
        archive.extractall(rootfs, filter="fully_trusted")
    subprocess.run(["runc", "spec"], cwd=tmp_path, check=True)
    config = json.loads((tmp_path / "config.json").read_text())
    config["process"]["terminal"] = False
    config["process"]["args"] = ["sleep", "60"]
    config["root"]["readonly"] = False  # the tests leave marks in the rootfs
    (tmp_path / "config.json").write_text(json.dumps(config))
    return tmp_path
