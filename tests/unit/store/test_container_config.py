"""A container record's typed config, network and ports read and write state.json's shapes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from shocker.record import replace
from shocker.store.container_config import (
    RAW_LOG,
    ContainerConfig,
    DeviceMapping,
    NetworkAttachment,
    PublishedPort,
    RestartPolicy,
    VolumeMount,
    record_json,
)
from shocker.store.containers import ContainerRecord, ContainerStore, Status
from shocker.store.layout import Layout
from shocker.store.subids import IdAllocation

# A state.json as `run` writes it, with every kind of value the config holds.
STATE: dict[str, Any] = {
    "auto_remove": False,
    "cgroup": None,
    "command": ["httpd", "-f"],
    "config": {
        "argv": ["httpd", "-f"],
        "capabilities": ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"],
        "cgroupns": "private",
        "cwd": "/www",
        "devices": [
            {
                "access": "rw",
                "container_path": "/dev/xnull",
                "host_path": "/dev/null",
                "kind": "c",
                "major": 1,
                "minor": 3,
                "mode": 438,
            }
        ],
        "dns": ["10.0.0.53"],
        "env": ["PATH=/usr/bin:/bin", "GREETING=hi"],
        "exposed_ports": ["80/tcp"],
        "hostname": "ps-5a1e0",
        "init": False,
        "interactive": False,
        "ip": "10.200.0.9",
        "limits": {
            "cpu_quota_cores": 1.5,
            "cpu_shares": 512,
            "memory_bytes": 268435456,
            "pids_max": None,
        },
        "log": {"driver": "json-file", "max_files": 3, "max_size": 10485760},
        "network": "bridge",
        "no_new_privileges": False,
        "privileged": False,
        "publish": ["127.0.0.1:8080:80", "53/udp"],
        "publish_all": True,
        "read_only": True,
        "restart": {"maximum_retries": 2, "name": "on-failure"},
        "runtime": None,
        "seccomp": True,
        "security_opt": ["no-new-privileges=false"],
        "stop_signal": "SIGQUIT",
        "stop_timeout": 5,
        "sysctls": [["net.core.somaxconn", "1024"]],
        "tmpfs": [["/tmp", ["rw", "nosuid", "nodev", "noexec", "size=64m"]]],
        "tty": True,
        "ulimits": [[7, 1024, 2048]],
        "user": "nobody",
        "userns": {"gid": 100000, "size": 65536, "uid": 100000},
        "userns_size": 65536,
        "volumes": [
            {"destination": "/data", "readonly": False, "source": "/v/data", "volume": "data"},
            {
                "anonymous": True,
                "destination": "/cache",
                "readonly": False,
                "source": "/v/0f3a",
                "volume": "0f3a",
            },
            {"destination": "/etc/app", "readonly": True, "source": "/srv/app", "volume": None},
        ],
    },
    "created": "2026-01-02T03:04:05.000006+00:00",
    "exit_code": None,
    "finished_at": None,
    "id": "ps-5a1e0",
    "image": "busybox:latest",
    "image_id": "img-aa090",
    "labels": {"tier": "web"},
    "name": "web",
    "network": {
        "bridge": "shocker0",
        "gateway": "10.200.0.1",
        "ip": "10.200.0.9",
        "mac": "02:42:0a:c8:00:09",
        "mode": "bridge",
        "prefixlen": 24,
    },
    "oom_killed": False,
    "paused": False,
    "pid": 4242,
    "pid_start_time": 123456,
    "ports": [
        {"container_port": 80, "host_ip": "127.0.0.1", "host_port": 8080, "protocol": "tcp"},
        {"container_port": 53, "host_ip": "", "host_port": 32768, "protocol": "udp"},
    ],
    "restart_count": 0,
    "started_at": "2026-01-02T03:04:06+00:00",
    "state": "running",
    "stopping": False,
    "supervisor_pid": 4241,
    "teardown_errors": [],
}


def written(record: ContainerRecord) -> str:
    data = record.to_json()
    del data["directory"]
    return json.dumps(data, indent=1, sort_keys=True)


def test_a_record_read_is_written_back_as_it_was_parsed_or_not() -> None:
    expected = json.dumps(STATE, indent=1, sort_keys=True)
    untouched = ContainerRecord.from_json(copy.deepcopy(STATE))
    assert written(untouched) == expected
    parsed = ContainerRecord.from_json(copy.deepcopy(STATE))
    assert parsed.config.argv and parsed.network is not None and parsed.network.mac
    assert written(parsed) == expected
    # Built from the typed values alone, too.
    rebuilt = ContainerRecord(
        **{name: getattr(parsed, name) for name in ("id", "name", "image_id", "image")},
        command=list(parsed.command),
        created=parsed.created,
        state=Status.RUNNING,
        pid=4242,
        pid_start_time=123456,
        supervisor_pid=4241,
        started_at=parsed.started_at,
        config=replace(parsed.config),
        network=replace(parsed.network),
        ports=parsed.ports,
        labels={"tier": "web"},
    )
    assert written(rebuilt) == expected


def test_the_fields_are_typed() -> None:
    record = ContainerRecord.from_json(copy.deepcopy(STATE))
    config = record.config
    assert config.argv == ("httpd", "-f")
    assert config.volumes == (
        VolumeMount("/v/data", "/data", readonly=False, volume="data"),
        VolumeMount("/v/0f3a", "/cache", readonly=False, volume="0f3a", anonymous=True),
        VolumeMount("/srv/app", "/etc/app", readonly=True, volume=None),
    )
    assert config.devices == (DeviceMapping("/dev/null", "/dev/xnull", "c", 1, 3, 438, "rw"),)
    assert config.tmpfs == (("/tmp", ("rw", "nosuid", "nodev", "noexec", "size=64m")),)
    assert config.sysctls == (("net.core.somaxconn", "1024"),)
    assert config.ulimits == ((7, 1024, 2048),)
    assert config.userns == IdAllocation(uid=100000, gid=100000, size=65536)
    assert (config.limits.memory_bytes, config.limits.cpu_quota_cores) == (268435456, 1.5)
    assert config.restart == RestartPolicy("on-failure", 2)
    assert (config.log.driver, config.log.max_files) == ("json-file", 3)
    assert record.network == NetworkAttachment(
        ip="10.200.0.9",
        gateway="10.200.0.1",
        prefixlen=24,
        mac="02:42:0a:c8:00:09",
        bridge="shocker0",
    )
    assert record.ports[1] == PublishedPort("", 32768, 53, "udp")
    # Read field by field; equal to the same values given to its constructor.
    assert replace(config) == config and replace(config).source_json() is None


def test_an_older_record_takes_the_defaults_and_newer_keys_are_ignored() -> None:
    old = {
        "id": "ps-00001",
        "name": None,
        "image_id": "img-aa090",
        "image": "busybox",
        "command": ["sh"],
        "created": "2024-01-01T00:00:00+00:00",
        "state": "exited",
        "config": {
            "argv": ["sh"],
            "env": [],
            "cwd": "/",
            "user": "",
            "hostname": "ps-00001",
            "volumes": [{"source": "/v/x", "destination": "/x", "readonly": False}],
            "from_the_future": {"a": 1},
        },
        "network": {},
        "from_the_future": True,
    }
    record = ContainerRecord.from_json(old)
    config = record.config
    assert config.log == RAW_LOG  # it logged raw bytes (container.log)
    assert (config.network, config.cgroupns, config.no_new_privileges) == (
        "bridge",
        "private",
        True,
    )
    assert config.restart == RestartPolicy() and config.userns is None and config.devices == ()
    assert config.volumes == (VolumeMount("/v/x", "/x"),)
    assert (record.network, record.ports, record.teardown_errors) == (None, (), [])
    assert ContainerConfig.from_json(["not", "a", "config"]) == ContainerConfig()


def test_only_an_anonymous_volume_carries_the_key() -> None:
    assert record_json(VolumeMount("/v/a", "/a", volume="a")) == {
        "destination": "/a",
        "readonly": False,
        "source": "/v/a",
        "volume": "a",
    }
    assert record_json(VolumeMount("/v/b", "/b", volume="b", anonymous=True))["anonymous"]


def test_state_json_is_byte_for_byte_the_same_after_a_rewrite(tmp_path: Path) -> None:
    store = ContainerStore(Layout(tmp_path))
    path = store.layout.container_dir("ps-5a1e0") / "state.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(STATE, indent=1, sort_keys=True) + "\n")
    before = path.read_bytes()

    def keep(record: ContainerRecord) -> None:
        record.restart_count += 0

    store.update("ps-5a1e0", keep)
    assert path.read_bytes() == before

    def read_everything(record: ContainerRecord) -> None:
        assert record.config.volumes[1].anonymous and record.network is not None
        assert record.network.ip

    store.update("ps-5a1e0", read_everything)
    assert path.read_bytes() == before
