"""The spec's process as the runtime sets it up (`run` on a bundle from `runc spec`), each
test against shocker-runtime and runc."""

from __future__ import annotations

import json
import secrets
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.ociruntime.conftest import SHOCKER_RUNTIME


def _run_in(runtime: str, bundle: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    root, cid = tmp_path / "state", "p" + secrets.token_hex(3)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        result = subprocess.run(
            [runtime, "--root", str(root), "run", "--bundle", str(bundle), cid],
            stdin=subprocess.DEVNULL, stdout=out, stderr=err, timeout=60, check=False,
        )  # fmt: skip
        subprocess.run([runtime, "--root", str(root), "delete", "--force", cid], check=False)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(result.args, result.returncode, out.read(), err.read())


def _process(bundle: Path, **process: object) -> None:
    config = json.loads((bundle / "config.json").read_text())
    config["process"].update(process)
    (bundle / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize(
    ("user", "groups"),
    [
        ({"uid": 0, "gid": 0}, ""),
        ({"uid": 1000, "gid": 1000}, ""),
        ({"uid": 1000, "gid": 1000, "additionalGids": [5, 6]}, "5 6"),
    ],
)
def test_supplementary_groups_are_the_additional_gids(
    runtime: str, bundle: Path, tmp_path: Path, user: dict[str, object], groups: str
) -> None:
    _process(bundle, user=user, args=["sh", "-c", "grep '^Groups:' /proc/self/status"])
    result = _run_in(runtime, bundle, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split(":", 1)[1].strip() == groups


def test_oom_score_adj(runtime: str, bundle: Path, tmp_path: Path) -> None:
    # Raised, not lowered: lowering needs CAP_SYS_RESOURCE, which a test host may lack.
    _process(bundle, oomScoreAdj=500, args=["cat", "/proc/self/oom_score_adj"])
    result = _run_in(runtime, bundle, tmp_path)
    assert (result.returncode, result.stdout) == (0, "500\n"), result.stderr


def _resources(bundle: Path, **resources: object) -> None:
    config = json.loads((bundle / "config.json").read_text())
    config["linux"].setdefault("resources", {}).update(resources)
    (bundle / "config.json").write_text(json.dumps(config))


def test_memory_swap_is_the_memory_and_swap_limit(
    runtime: str, bundle: Path, tmp_path: Path
) -> None:
    memsw = "memory/memory.memsw.limit_in_bytes"
    if not (Path("/sys/fs/cgroup") / memsw).exists():
        pytest.skip("no cgroup v1 swap accounting on this host")
    _resources(bundle, memory={"limit": 32 * 2**20, "swap": 64 * 2**20})
    _process(bundle, args=["cat", f"/sys/fs/cgroup/{memsw}"])
    result = _run_in(runtime, bundle, tmp_path)
    assert (result.returncode, result.stdout) == (0, f"{64 * 2**20}\n"), result.stderr


@pytest.mark.parametrize("field", ["reservation", "swappiness", "disableOOMKiller"])
def test_memory_fields_not_honoured_are_refused(bundle: Path, tmp_path: Path, field: str) -> None:
    value = True if field == "disableOOMKiller" else 10
    _resources(bundle, memory={"limit": 32 * 2**20, field: value})
    result = _run_in(SHOCKER_RUNTIME, bundle, tmp_path)
    assert result.returncode == 1
    assert result.stderr == f"linux.resources.memory.{field} is not supported by this runtime\n"


@pytest.mark.parametrize("propagation", ["shared", "rshared", "rslave", "private"])
def test_rootfs_propagation(runtime: str, bundle: Path, tmp_path: Path, propagation: str) -> None:
    """containerd asks for rshared or rslave when a mount propagates (Kubernetes'
    Bidirectional and HostToContainer): pivot_root must still find a private new root."""
    config = json.loads((bundle / "config.json").read_text())
    config["linux"]["rootfsPropagation"] = propagation
    (bundle / "config.json").write_text(json.dumps(config))
    _process(bundle, args=["echo", "up"])
    result = _run_in(runtime, bundle, tmp_path)
    assert (result.returncode, result.stdout) == (0, "up\n"), result.stderr


@pytest.fixture
def with_submount(tmp_path: Path) -> Iterator[Path]:
    """A directory with a tmpfs mounted below it, for recursive bind options."""
    source = tmp_path / "source"
    (source / "sub").mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(source / "sub")], check=True)
    try:
        yield source
    finally:
        subprocess.run(["umount", "-l", str(source / "sub")], check=False)


def _mount(bundle: Path, **mount: object) -> None:
    config = json.loads((bundle / "config.json").read_text())
    config["mounts"].append(mount)
    (bundle / "config.json").write_text(json.dumps(config))


def test_rro_makes_every_mount_below_read_only(
    runtime: str, bundle: Path, tmp_path: Path, with_submount: Path
) -> None:
    _mount(
        bundle, destination="/m", type="bind", source=str(with_submount), options=["rbind", "rro"]
    )
    _process(bundle, args=["sh", "-c", "touch /m/sub/x /m/x 2>&1 | grep -c Read-only"])
    result = _run_in(runtime, bundle, tmp_path)
    assert (result.returncode, result.stdout) == (0, "2\n"), result.stderr


def test_bind_flags_reach_the_mount(runtime: str, bundle: Path, tmp_path: Path) -> None:
    (tmp_path / "source").mkdir()
    options = ["bind", "nosuid", "noatime", "nosymfollow"]
    _mount(bundle, destination="/m", type="bind", source=str(tmp_path / "source"), options=options)
    _process(bundle, args=["sh", "-c", "grep ' /m ' /proc/self/mountinfo | cut -d' ' -f6"])
    result = _run_in(runtime, bundle, tmp_path)
    assert (result.returncode, result.stdout) == (0, "rw,nosuid,noatime,nosymfollow\n"), (
        result.stderr
    )


def test_without_a_capabilities_object_the_process_has_none(
    runtime: str, bundle: Path, tmp_path: Path
) -> None:
    config = json.loads((bundle / "config.json").read_text())
    del config["process"]["capabilities"]
    (bundle / "config.json").write_text(json.dumps(config))
    _process(bundle, args=["grep", "-E", "^Cap(Eff|Prm|Bnd)", "/proc/self/status"])
    result = _run_in(runtime, bundle, tmp_path)
    assert result.returncode == 0, result.stderr
    assert [line.split()[1] for line in result.stdout.splitlines()] == ["0" * 16] * 3


def test_without_device_rules_only_the_default_devices_open(
    runtime: str, bundle: Path, tmp_path: Path
) -> None:
    config = json.loads((bundle / "config.json").read_text())
    config["linux"].pop("resources", None)
    caps = config["process"]["capabilities"]
    for name in ("bounding", "effective", "permitted"):
        caps[name].append("CAP_MKNOD")
    (bundle / "config.json").write_text(json.dumps(config))
    script = "mknod /dev/other c 10 237; head -c0 /dev/other; head -c0 /dev/null && echo null opens"
    _process(bundle, args=["sh", "-c", script])
    result = _run_in(runtime, bundle, tmp_path)
    assert "Operation not permitted" in result.stdout + result.stderr, result
    assert "null opens" in result.stdout, result


def _current(key: str) -> str:
    return Path("/proc/sys", *key.split(".")).read_text().strip()


@pytest.mark.parametrize(
    ("without", "field", "key"),
    [
        ("uts", "hostname", "kernel.hostname"),
        ("network", "sysctl", "net.ipv4.ip_forward"),
        ("ipc", "sysctl", "kernel.shmmni"),
        (None, "sysctl", "vm.swappiness"),
    ],
)
def test_what_would_change_the_host_is_refused(
    runtime: str, bundle: Path, tmp_path: Path, without: str | None, field: str, key: str
) -> None:
    """The host's own value is asked for, so that nothing changes even where it is taken."""
    config = json.loads((bundle / "config.json").read_text())
    namespaces = config["linux"]["namespaces"]
    config["linux"]["namespaces"] = [n for n in namespaces if n["type"] != without]
    if field == "hostname":
        config["hostname"] = _current(key)
    else:
        config["linux"]["sysctl"] = {key: _current(key)}
    (bundle / "config.json").write_text(json.dumps(config))
    _process(bundle, args=["true"])
    result = _run_in(runtime, bundle, tmp_path)
    assert result.returncode != 0, result
    if runtime == SHOCKER_RUNTIME:
        assert result.stderr.count("\n") == 1 and "config.json" in result.stderr, result.stderr


def test_a_cpu_quota_keeps_its_period(runtime: str, bundle: Path, tmp_path: Path) -> None:
    _resources(bundle, cpu={"quota": 50_000, "period": 200_000})
    script = (
        "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us"
        " 2>/dev/null || cat /sys/fs/cgroup/cpu.max"
    )
    _process(bundle, args=["sh", "-c", script])
    result = _run_in(runtime, bundle, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["50000", "200000"]
