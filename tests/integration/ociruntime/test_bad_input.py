"""A config.json the runtime cannot honour: exit 1, the reason in the --log as JSON, and
nothing left behind (no state, no cgroup, no process)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.ociruntime.conftest import SHOCKER_RUNTIME


def _break_json(config: dict[str, Any]) -> str:
    return json.dumps(config)[:-5]


def _missing_rootfs(config: dict[str, Any]) -> str:
    config["root"]["path"] = "no-such-rootfs"
    return json.dumps(config)


def _unknown_namespace(config: dict[str, Any]) -> str:
    config["linux"]["namespaces"].append({"type": "wormhole"})
    return json.dumps(config)


def _unknown_capability(config: dict[str, Any]) -> str:
    config["process"]["capabilities"]["bounding"].append("CAP_TIME_TRAVEL")
    return json.dumps(config)


def _bad_seccomp_action(config: dict[str, Any]) -> str:
    config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_SOMETIMES", "syscalls": []}
    return json.dumps(config)


def _unsupported_security_field(config: dict[str, Any]) -> str:
    config["process"]["apparmorProfile"] = "docker-default"
    return json.dumps(config)


@pytest.mark.parametrize(
    ("breaker", "fragment"),
    [
        (_break_json, "config.json is not valid JSON"),
        (_missing_rootfs, "root.path"),
        (_unknown_namespace, "type has an unknown value 'wormhole'"),
        (_unknown_capability, "unknown capability 'CAP_TIME_TRAVEL'"),
        (_bad_seccomp_action, "unknown seccomp action"),
        (_unsupported_security_field, "process.apparmorProfile is not supported"),
    ],
)
def test_refused_with_one_line(bundle: Path, tmp_path: Path, breaker: Any, fragment: str) -> None:
    config = json.loads((bundle / "config.json").read_text())
    config["linux"]["cgroupsPath"] = f"/shocker-test-bad/{tmp_path.name}"
    (bundle / "config.json").write_text(breaker(config))
    root, log = tmp_path / "state", tmp_path / "log.json"
    result = subprocess.run(
        [SHOCKER_RUNTIME, "--root", str(root), "--log", str(log), "--log-format", "json",
         "create", "--bundle", str(bundle), "bad"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert fragment in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    entry = json.loads(log.read_text().splitlines()[-1])
    assert entry["level"] == "error" and fragment in entry["msg"]
    assert not (root / "bad").exists()
    assert not Path("/sys/fs/cgroup/memory/shocker-test-bad", tmp_path.name).exists()
