from __future__ import annotations

import json

import pytest

from shocker.errors import RegistryError
from shocker.oci.image_config import DEFAULT_ENV_PATH, ImageConfig, empty_config
from shocker.oci.platform import host_platform

DIFF = "sha256:" + "d" * 64


def test_a_full_config_exposes_what_containers_run_from() -> None:
    raw = {
        "architecture": "arm64",
        "os": "linux",
        "config": {
            "Entrypoint": ["/docker-entrypoint.sh"],
            "Cmd": ["nginx", "-g", "daemon off;"],
            "Env": ["PATH=/bin", "NGINX_VERSION=1.27"],
            "WorkingDir": "/srv",
            "User": "101:101",
            "ExposedPorts": {"80/tcp": {}, "53": {}, "5353/udp": {}},
            "StopSignal": "SIGQUIT",
        },
        "rootfs": {"type": "layers", "diff_ids": [DIFF]},
    }
    config = ImageConfig.from_json(json.dumps(raw).encode())
    assert config.raw == raw
    assert config.entrypoint == ("/docker-entrypoint.sh",)
    assert config.cmd == ("nginx", "-g", "daemon off;")
    assert config.env == ("PATH=/bin", "NGINX_VERSION=1.27")
    assert (config.working_dir, config.user) == ("/srv", "101:101")
    assert config.exposed_ports == ("80/tcp", "53/tcp", "5353/udp")
    assert config.stop_signal == "SIGQUIT"
    assert config.diff_ids == (DIFF,)
    assert (config.architecture, config.os) == ("arm64", "linux")


def test_absent_and_null_fields_take_docker_defaults() -> None:
    config = ImageConfig.from_json({"config": {"Entrypoint": None, "Cmd": None, "Env": None}})
    assert config.entrypoint is None and config.cmd is None
    assert config.env == () and config.exposed_ports == () and config.diff_ids == ()
    assert (config.working_dir, config.user, config.stop_signal) == ("", "", None)


def test_a_lone_string_command_is_one_argument() -> None:
    assert ImageConfig.from_json({"config": {"Cmd": "sh"}}).cmd == ("sh",)


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"[]",
        json.dumps({"config": {"Cmd": [1, 2]}}).encode(),
        json.dumps({"config": {"User": 0}}).encode(),
        json.dumps({"config": []}).encode(),
        json.dumps({"rootfs": {"diff_ids": ["nope"]}}).encode(),
        json.dumps({"config": {"ExposedPorts": ["80/tcp"]}}).encode(),
    ],
)
def test_malformed_configs_are_registry_errors(raw: bytes) -> None:
    with pytest.raises(RegistryError, match="invalid"):
        ImageConfig.from_json(raw)


def test_the_empty_config_is_valid_for_this_host_and_runs_nothing_by_itself() -> None:
    raw = empty_config("2024-01-01T00:00:00Z")
    config = ImageConfig.from_json(json.loads(json.dumps(raw)))
    assert config.architecture == host_platform().architecture
    assert config.os == "linux"
    assert config.env == (DEFAULT_ENV_PATH,)
    assert config.cmd is None and config.entrypoint is None
    assert config.diff_ids == ()
    assert raw["rootfs"]["type"] == "layers" and raw["created"] == "2024-01-01T00:00:00Z"


def test_each_empty_config_is_a_fresh_dict() -> None:
    first = empty_config()
    first["config"]["Env"].append("X=1")
    assert empty_config()["config"]["Env"] == [DEFAULT_ENV_PATH]
