"""`shocker inspect`: an image as JSON (reference, digests, config, layers, size), a container
as its state record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.assertions import assert_one_line_error
from tests.support.catalog import ImageSet
from tests.support.shocker import Shocker


def _document(text: str) -> dict[str, Any]:
    data = json.loads(text)
    if isinstance(data, list):
        assert len(data) == 1
        data = data[0]
    assert isinstance(data, dict)
    return data


def _values(data: Any) -> list[Any]:
    """Every value nested anywhere in a JSON document (field names are not pinned here)."""
    if isinstance(data, dict):
        return [v for value in data.values() for v in [value, *_values(value)]]
    if isinstance(data, list):
        return [v for value in data for v in [value, *_values(value)]]
    return []


def test_inspect_shows_reference_digests_config_and_layers(
    fresh_shocker: Shocker, images: ImageSet
) -> None:
    image_id = fresh_shocker("pull", images.busybox.ref).check().created_id()

    data = _document(fresh_shocker("inspect", image_id).check().out)

    values = _values(data)
    assert image_id in values
    assert "busybox:latest" in values or "docker.io/library/busybox:latest" in values
    assert any(isinstance(v, str) and images.busybox.digest in v for v in values)
    assert any(isinstance(v, str) and images.busybox.layer_digests[0] in v for v in values)
    assert ["sh"] in values
    assert any(isinstance(v, int) and v > 1_000_000 for v in values), "no size in bytes"


def test_inspect_by_name_and_by_id_agree(fresh_shocker: Shocker, images: ImageSet) -> None:
    image_id = fresh_shocker("pull", images.layered.ref).check().created_id()

    by_id = _document(fresh_shocker("inspect", image_id).check().out)
    by_name = _document(fresh_shocker("inspect", images.layered.ref).check().out)

    assert by_id == by_name


def test_inspect_lists_every_layer_of_the_image(fresh_shocker: Shocker, images: ImageSet) -> None:
    image_id = fresh_shocker("pull", images.layered.ref).check().created_id()

    text = fresh_shocker("inspect", image_id).check().out

    for digest in images.layered.layer_digests:
        assert digest in text


def test_inspect_of_an_unknown_name_is_one_line(fresh_shocker: Shocker) -> None:
    result = fresh_shocker("inspect", "nothing:here")

    assert_one_line_error(result, "nothing:here")


def _shape(data: Any) -> Any:
    """A JSON document's keys (in order) and value types, without the values (a list: the
    different shapes of its items)."""
    if isinstance(data, dict):
        return [(key, _shape(value)) for key, value in data.items()]
    if isinstance(data, list):
        shapes: list[Any] = []
        for value in data:
            if _shape(value) not in shapes:
                shapes.append(_shape(value))
        return shapes
    return type(data).__name__


def test_container_inspect_is_its_state_record_as_written(
    fresh_shocker: Shocker, images: ImageSet, tmp_path: Path
) -> None:
    """A container with published ports, volumes, env and a bridge address: `inspect` shows
    state.json as it is on disk (every key, in its order) plus where its files are."""
    image_id = fresh_shocker("pull", images.busybox.ref).check().created_id()
    shared = tmp_path / "shared"
    shared.mkdir()
    result = fresh_shocker(
        "run", "-d", "--name", "shaped", "-e", "GREETING=hi", "-l", "tier=web",
        "-p", "127.0.0.1::80", "-p", "81/udp", "-v", "shapedata:/data",
        "-v", f"{shared}:/shared:ro", image_id, "sleep", "60",
    ).check()  # fmt: skip
    container_id = result.lines[-1].strip()
    try:
        state_path = fresh_shocker.root / ".shocker/containers" / container_id / "state.json"
        on_disk = json.loads(state_path.read_text())
        shown = _document(fresh_shocker("inspect", container_id).check().out)

        expected = {
            **on_disk,
            "directory": str(state_path.parent),
            "rootfs": str(fresh_shocker.root / container_id),
        }
        assert json.dumps(shown, sort_keys=True) == json.dumps(expected, sort_keys=True)
        # Its own fields first, in the record's order; what it holds in state.json's order.
        assert list(shown) == INSPECT_KEYS
        for key in ("config", "network", "ports", "labels"):
            assert json.dumps(shown[key]) == json.dumps(on_disk[key])
        assert _shape(on_disk) == RUNNING_SHAPE
        assert "GREETING=hi" in on_disk["config"]["env"]
        assert [v["destination"] for v in on_disk["config"]["volumes"]] == ["/data", "/shared"]
        assert [(p["container_port"], p["protocol"]) for p in on_disk["ports"]] == [
            (80, "tcp"),
            (81, "udp"),
        ]
        assert on_disk["network"]["ip"]

        fresh_shocker("stop", "-t", "0", container_id).check()
        stopped = json.loads(state_path.read_text())
        # Rewritten on the exit: the same keys and shapes, the address and ports kept.
        assert _shape(stopped) == [
            (key, "int" if key == "exit_code" else "str" if key == "finished_at" else shape)
            for key, shape in RUNNING_SHAPE
        ]
        assert (stopped["config"], stopped["ports"]) == (on_disk["config"], on_disk["ports"])
    finally:
        fresh_shocker("rm", "-f", container_id)
        fresh_shocker("volume", "rm", "shapedata")


# As state.json has held them (a running container: the config of run above, an address
# on the bridge, two published ports).
RUNNING_SHAPE = [
    ("auto_remove", "bool"),
    ("cgroup", "NoneType"),
    ("command", ["str"]),
    (
        "config",
        [
            ("argv", ["str"]),
            ("capabilities", ["str"]),
            ("cgroupns", "str"),
            ("cwd", "str"),
            ("devices", []),
            ("dns", []),
            ("env", ["str"]),
            ("exposed_ports", []),
            ("hostname", "str"),
            ("init", "bool"),
            ("interactive", "bool"),
            ("ip", "NoneType"),
            (
                "limits",
                [
                    ("cpu_quota_cores", "NoneType"),
                    ("cpu_shares", "int"),
                    ("memory_bytes", "int"),
                    ("pids_max", "int"),
                ],
            ),
            ("log", [("driver", "str"), ("max_files", "int"), ("max_size", "NoneType")]),
            ("network", "str"),
            ("no_new_privileges", "bool"),
            ("privileged", "bool"),
            ("publish", ["str"]),
            ("publish_all", "bool"),
            ("read_only", "bool"),
            ("restart", [("maximum_retries", "int"), ("name", "str")]),
            ("runtime", "NoneType"),
            ("seccomp", "bool"),
            ("security_opt", []),
            ("stop_signal", "NoneType"),
            ("stop_timeout", "NoneType"),
            ("sysctls", []),
            ("tmpfs", []),
            ("tty", "bool"),
            ("ulimits", []),
            ("user", "str"),
            ("userns", "NoneType"),
            ("userns_size", "NoneType"),
            (
                "volumes",
                [
                    [
                        ("destination", "str"),
                        ("readonly", "bool"),
                        ("source", "str"),
                        ("volume", "str"),
                    ],
                    [
                        ("destination", "str"),
                        ("readonly", "bool"),
                        ("source", "str"),
                        ("volume", "NoneType"),
                    ],
                ],
            ),
        ],
    ),
    ("created", "str"),
    ("exit_code", "NoneType"),
    ("finished_at", "NoneType"),
    ("id", "str"),
    ("image", "str"),
    ("image_id", "str"),
    ("labels", [("tier", "str")]),
    ("name", "str"),
    (
        "network",
        [
            ("bridge", "str"),
            ("gateway", "str"),
            ("ip", "str"),
            ("mac", "str"),
            ("mode", "str"),
            ("prefixlen", "int"),
        ],
    ),
    ("oom_killed", "bool"),
    ("paused", "bool"),
    ("pid", "int"),
    ("pid_start_time", "int"),
    (
        "ports",
        [
            [
                ("container_port", "int"),
                ("host_ip", "str"),
                ("host_port", "int"),
                ("protocol", "str"),
            ]
        ],
    ),
    ("restart_count", "int"),
    ("started_at", "str"),
    ("state", "str"),
    ("stopping", "bool"),
    ("supervisor_pid", "int"),
    ("teardown_errors", []),
]
INSPECT_KEYS = [
    "id",
    "name",
    "image_id",
    "image",
    "command",
    "created",
    "state",
    "pid",
    "pid_start_time",
    "supervisor_pid",
    "exit_code",
    "oom_killed",
    "started_at",
    "finished_at",
    "auto_remove",
    "config",
    "network",
    "ports",
    "cgroup",
    "paused",
    "labels",
    "restart_count",
    "stopping",
    "teardown_errors",
    "directory",
    "rootfs",
]
