"""A bundle with a user namespace and linux.uidMappings/gidMappings: the init and its
exec'd processes are root inside and the mapped ids on the host. Against runc too."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.ociruntime.conftest import SHOCKER_RUNTIME
from tests.integration.ociruntime.test_lifecycle import _reap, _run, _state, subreaper

__all__ = ["subreaper"]

HOST_ID = 400000
SIZE = 65536


@pytest.fixture
def mapped_bundle(bundle: Path) -> Iterator[Path]:
    """The busybox bundle, moved where the mapped root may reach it (pytest's tmp is 0700
    root's), its rootfs owned by the mapped root as runc requires."""
    place = Path(f"/tmp/shocker-userns-{secrets.token_hex(4)}")
    shutil.copytree(bundle, place, symlinks=True)
    place.chmod(0o755)
    subprocess.run(["chown", "-R", f"{HOST_ID}:{HOST_ID}", str(place / "rootfs")], check=True)
    config = json.loads((place / "config.json").read_text())
    linux = config["linux"]
    linux["namespaces"] = [n for n in linux["namespaces"] if n["type"] != "user"]
    linux["namespaces"].append({"type": "user"})
    linux["uidMappings"] = [{"containerID": 0, "hostID": HOST_ID, "size": SIZE}]
    linux["gidMappings"] = [{"containerID": 0, "hostID": HOST_ID, "size": SIZE}]
    (place / "config.json").write_text(json.dumps(config))
    try:
        yield place
    finally:
        shutil.rmtree(place, ignore_errors=True)


def test_user_namespace_from_the_spec(
    runtime: str, mapped_bundle: Path, tmp_path: Path, subreaper: None
) -> None:
    root, cid = tmp_path / "state", "u" + secrets.token_hex(3)
    created = _run(runtime, root, "create", "--bundle", str(mapped_bundle), cid)
    assert created.returncode == 0, created.stderr
    pid = int(_state(runtime, root, cid)["pid"])  # type: ignore[call-overload]
    try:
        assert _run(runtime, root, "start", cid).returncode == 0
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        uid_line = next(line for line in status if line.startswith("Uid:"))
        assert uid_line.split()[1:] == [str(HOST_ID)] * 4
        process = json.loads((mapped_bundle / "config.json").read_text())["process"]
        script = (
            "id -u; cat /proc/self/uid_map; stat -c %u:%g /bin/busybox; readlink /proc/1/ns/user"
        )
        process["args"] = ["sh", "-c", script]
        (tmp_path / "process.json").write_text(json.dumps(process))
        result = _run(runtime, root, "exec", "--process", str(tmp_path / "process.json"), cid)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0] == "0"
        assert lines[1].split() == ["0", str(HOST_ID), str(SIZE)]
        assert lines[2] == "0:0"
        theirs = str(Path(f"/proc/{pid}/ns/user").readlink())
        assert lines[3] == theirs != str(Path("/proc/self/ns/user").readlink())
    finally:
        _run(runtime, root, "delete", "--force", cid)
        _reap(pid)


def test_mappings_without_a_user_namespace_are_refused(mapped_bundle: Path, tmp_path: Path) -> None:
    config = json.loads((mapped_bundle / "config.json").read_text())
    config["linux"]["namespaces"] = [
        n for n in config["linux"]["namespaces"] if n["type"] != "user"
    ]
    (mapped_bundle / "config.json").write_text(json.dumps(config))
    result = _run(
        SHOCKER_RUNTIME, tmp_path / "state", "create", "--bundle", str(mapped_bundle), "x1"
    )
    assert result.returncode == 1
    assert "uidMappings" in result.stderr and "Traceback" not in result.stderr
