"""The OCI runtime-spec model: parse, refuse, serialise."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from shocker.oci import runtime_spec as rs

# The shape `runc spec` writes, plus the fields containerd and the engine add.
DOCUMENT: dict[str, Any] = {
    "ociVersion": "1.0.2-dev",
    "process": {
        "terminal": True,
        "consoleSize": {"height": 24, "width": 80},
        "user": {"uid": 1000, "gid": 1000, "additionalGids": [10, 20]},
        "args": ["sh"],
        "env": ["PATH=/usr/bin:/bin", "TERM=xterm"],
        "cwd": "/",
        "capabilities": {
            "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL"],
            "effective": ["CAP_KILL"],
            "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL"],
        },
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        "noNewPrivileges": True,
    },
    "root": {"path": "rootfs", "readonly": True},
    "hostname": "runc",
    "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]},
    ],
    "linux": {
        "resources": {
            "devices": [
                {"allow": False, "access": "rwm"},
                {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
            ],
            "memory": {"limit": 67108864},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000},
            "pids": {"limit": 100},
        },
        "cgroupsPath": "/default/abc",
        "namespaces": [{"type": "pid"}, {"type": "network", "path": "/run/netns/x"}],
        "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        "sysctl": {"net.ipv4.ip_unprivileged_port_start": "0"},
        "seccomp": {
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 1,
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [
                {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                {
                    "names": ["personality"],
                    "action": "SCMP_ACT_ALLOW",
                    "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}],
                },
                {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
            ],
        },
        "maskedPaths": ["/proc/kcore"],
        "readonlyPaths": ["/proc/sys"],
        "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}],
    },
    "annotations": {"org.example": "yes"},
}


def _with(path: str, value: object) -> dict[str, Any]:
    document = copy.deepcopy(DOCUMENT)
    *parents, last = path.split(".")
    node: Any = document
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[last] = value
    return document


def test_parse_reads_every_section() -> None:
    spec = rs.parse(DOCUMENT)
    assert spec.process is not None
    assert spec.process.user == rs.User(uid=1000, gid=1000, additional_gids=(10, 20))
    assert spec.process.console_size == rs.ConsoleSize(24, 80)
    assert spec.process.capabilities is not None
    assert spec.process.capabilities.effective == ("CAP_KILL",)
    assert spec.process.rlimits == (rs.Rlimit("RLIMIT_NOFILE", 1024, 1024),)
    assert spec.root == rs.Root(path="rootfs", readonly=True)
    assert spec.mounts[1].options == ("nosuid",)
    linux = spec.linux
    assert linux.namespace("network") == rs.Namespace(type="network", path="/run/netns/x")
    assert linux.namespace("user") is None
    assert linux.resources is not None
    assert linux.resources.devices[0] == rs.DeviceRule(allow=False)
    assert linux.resources.memory == rs.Memory(limit=67108864)
    assert linux.resources.pids == rs.Pids(limit=100)
    assert linux.seccomp is not None
    assert linux.seccomp.syscalls[1].args[0].op == "SCMP_CMP_EQ"
    assert linux.seccomp.syscalls[2].errno_ret == 38
    assert linux.sysctl == (("net.ipv4.ip_unprivileged_port_start", "0"),)


def test_round_trip() -> None:
    spec = rs.parse(DOCUMENT)
    assert rs.loads(rs.dumps(spec)) == spec
    assert rs.to_json(spec)["linux"]["seccomp"] == DOCUMENT["linux"]["seccomp"]


def test_minimal_document() -> None:
    spec = rs.parse({"ociVersion": "1.0.0", "root": {"path": "/r"}})
    assert spec.process is None
    assert spec.linux == rs.Linux()
    assert rs.to_json(spec) == {"ociVersion": "1.0.0", "root": {"path": "/r"}}


def test_unknown_top_level_field_is_ignored() -> None:
    spec = rs.parse(_with("futureThing", {"x": 1}))
    assert spec.hostname == "runc"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("process.args", [], "process.args must name the program"),
        ("process.cwd", "relative", "process.cwd must be an absolute path"),
        ("process.user.uid", "0", "process.user.uid must be an integer"),
        ("process.apparmorProfile", "docker-default", "process.apparmorProfile is not supported"),
        ("process.secret", 1, "process.secret is not a field this runtime knows"),
        ("process.capabilities.bounding", ["CAP_NOPE"], "unknown capability 'CAP_NOPE'"),
        ("process.rlimits", [{"type": "RLIMIT_X", "hard": 1, "soft": 1}], "unknown value"),
        ("linux.namespaces", [{"type": "pid"}, {"type": "pid"}], "lists 'pid' twice"),
        ("linux.namespaces", [{"type": "nope"}], "linux.namespaces[0].type has an unknown"),
        ("linux.seccomp.defaultAction", "SCMP_ACT_MAYBE", "linux.seccomp.defaultAction"),
        ("linux.seccomp.listenerPath", "/run/x.sock", "listenerPath is not supported"),
        ("linux.seccomp.flags", ["SECCOMP_FILTER_FLAG_LOG"], "seccomp.flags is not supported"),
        ("linux.resources.blockIO", {"weight": 10}, "linux.resources.blockIO is not supported"),
        ("linux.resources.devices", [{"access": "rwm"}], "devices[0].allow is required"),
        ("linux.mountLabel", "system_u", "linux.mountLabel is not supported"),
        ("linux.intelRdt", {"closID": "x"}, "linux.intelRdt is not supported"),
        ("hooks", {"prestart": [{"path": "/bin/true"}]}, "hooks is not supported"),
        ("mounts", [{"type": "tmpfs"}], "mounts[0].destination is required"),
        ("root", None, "root is required"),
        ("ociVersion", "2.0.0", "not a 1.x version"),
    ],
)
def test_refusals_name_the_field(path: str, value: object, message: str) -> None:
    document = _with(path, value)
    if value is None:
        del document[path]
    with pytest.raises(rs.SpecError, match=r"config\.json") as caught:
        rs.parse(document)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_seccomp_argument_rules_are_checked() -> None:
    rule: dict[str, Any] = {"names": ["x"], "action": "SCMP_ACT_ALLOW"}
    rule["args"] = [{"index": 0, "value": 1}]
    with pytest.raises(rs.SpecError, match=r"args\[0\]: unknown comparison"):
        rs.parse(_with("linux.seccomp.syscalls", [rule]))
    rule["args"] = [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]
    with pytest.raises(rs.SpecError, match="'index' must be 0 to 5"):
        rs.parse(_with("linux.seccomp.syscalls", [rule]))
    rule["args"] = [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ", "mask": 3}]
    with pytest.raises(rs.SpecError, match="mask is not a field"):
        rs.parse(_with("linux.seccomp.syscalls", [rule]))


def test_malformed_json() -> None:
    with pytest.raises(rs.SpecError, match=r"config\.json is not valid JSON"):
        rs.loads("{")


def test_process_file() -> None:
    process = rs.parse_process({"args": ["ls"], "cwd": "/", "terminal": False})
    assert process.args == ("ls",)
    with pytest.raises(rs.SpecError, match=r"process\.args"):
        rs.parse_process(json.loads('{"cwd": "/"}'))


def test_docker_capability_shape() -> None:
    caps = rs.Capabilities.same(("CAP_KILL",))
    assert caps.inheritable == ()
    assert caps.bounding == caps.effective == caps.permitted == ("CAP_KILL",)
