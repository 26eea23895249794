"""Docker's confinement by default, through the CLI: the seccomp profile (gated on the
container's capabilities), `--security-opt`, and a bad profile refused before any container."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import sysprobe
from tests.support.shocker import Shocker

needs_x86_64 = pytest.mark.skipif(not sysprobe.supported(), reason="the probes are x86_64 code")


def out(shocker: Shocker, *args: str) -> str:
    return shocker("run", "--rm", *args).check().out


def seccomp_line(text: str) -> str:
    return next(ln for ln in text.splitlines() if ln.startswith("Seccomp:")).split()[1]


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """keyctl(GET_KEYRING_ID, SESSION), clone3(NULL, 0), getpid: each exits with its errno."""
    directory = tmp_path_factory.mktemp("probes")
    sysprobe.write_probe(directory / "keyctl", sysprobe.KEYCTL, 0, -3 & (2**64 - 1), 0)
    sysprobe.write_probe(directory / "clone3", sysprobe.CLONE3, 0, 0)
    sysprobe.write_probe(directory / "getpid", 39)
    directory.chmod(0o755)
    return directory


def test_seccomp_filters_run_and_exec_by_default(
    shocker: Shocker, busybox_id: str, run_detached: object
) -> None:
    assert seccomp_line(out(shocker, busybox_id, "cat", "/proc/self/status")) == "2"
    assert callable(run_detached)
    container = run_detached(busybox_id, "sleep", "30")
    status = shocker("exec", container, "cat", "/proc/self/status").check().out
    assert seccomp_line(status) == "2"


@pytest.mark.parametrize("flags", [["--privileged"], ["--security-opt", "seccomp=unconfined"]])
def test_privileged_and_unconfined_run_without_a_filter(
    shocker: Shocker, busybox_id: str, flags: list[str]
) -> None:
    assert seccomp_line(out(shocker, *flags, busybox_id, "cat", "/proc/self/status")) == "0"


def test_namespaces_and_mounts_are_refused_by_the_filter(shocker: Shocker, busybox_id: str) -> None:
    # A user namespace needs no capability: only the filter stops it.
    result = shocker("run", "--rm", busybox_id, "unshare", "-U", "true")
    assert result.rc != 0 and "Operation not permitted" in result.err, str(result)
    unconfined = ["--security-opt", "seccomp=unconfined"]
    assert shocker("run", "--rm", *unconfined, busybox_id, "unshare", "-U", "true").rc == 0
    result = shocker("run", "--rm", busybox_id, "mount", "-t", "tmpfs", "none", "/mnt")
    assert result.rc != 0 and "permission denied" in result.err, str(result)  # busybox's EPERM


def test_the_capability_gated_rules_follow_cap_add(shocker: Shocker, busybox_id: str) -> None:
    # With CAP_SYS_ADMIN the profile allows mount and unshare, as Docker's does.
    script = "mount -t tmpfs none /mnt && unshare -m true && echo mounted"
    text = out(shocker, "--cap-add", "SYS_ADMIN", busybox_id, "sh", "-c", script)
    assert "mounted" in text


@needs_x86_64
def test_keyctl_gets_eperm_and_clone3_enosys(
    shocker: Shocker, busybox_id: str, probes: Path
) -> None:
    volume = ["-v", f"{probes}:/probe:ro"]
    assert shocker("run", "--rm", *volume, busybox_id, "/probe/getpid").rc == 0
    assert shocker("run", "--rm", *volume, busybox_id, "/probe/keyctl").rc == 1  # EPERM
    assert shocker("run", "--rm", *volume, busybox_id, "/probe/clone3").rc == 38  # ENOSYS
    unconfined = [*volume, "--security-opt", "seccomp=unconfined"]
    assert shocker("run", "--rm", *unconfined, busybox_id, "/probe/keyctl").rc == 0
    assert shocker("run", "--rm", *unconfined, busybox_id, "/probe/clone3").rc == 22  # EINVAL


def test_a_profile_file_in_dockers_format(
    shocker: Shocker, busybox_id: str, tmp_path: Path
) -> None:
    profile = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
        "syscalls": [
            # Names this libseccomp does not know are skipped, as Docker does.
            {"names": ["mkdir", "mkdirat", "no_such_syscall"], "action": "SCMP_ACT_ERRNO"},
            {
                "names": ["rmdir"],
                "action": "SCMP_ACT_ERRNO",
                "errnoRet": 13,
                "excludes": {"caps": ["CAP_CHOWN"]},
            },
        ],
    }
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(profile))
    flags = ["--security-opt", f"seccomp={path}"]
    result = shocker("run", "--rm", *flags, busybox_id, "mkdir", "/made")
    assert result.rc != 0 and "Operation not permitted" in result.err, str(result)
    assert "ok" in out(shocker, *flags, busybox_id, "sh", "-c", "rmdir /mnt && echo ok")


@pytest.mark.parametrize(
    "content", ["{not json", '{"defaultAction": "SCMP_ACT_SOMETIMES"}', "[1, 2]", None]
)
@pytest.mark.parametrize("rm", [True, False])
def test_a_bad_profile_is_one_line_exit_125_and_no_container(
    shocker: Shocker, busybox_id: str, tmp_path: Path, content: str | None, rm: bool
) -> None:
    path = tmp_path / "profile.json"
    if content is not None:
        path.write_text(content)
    before = set(shocker("ps", "-a", "-q").check().lines)
    args = ["--rm"] if rm else []
    result = shocker("run", *args, "--security-opt", f"seccomp={path}", busybox_id, "true")
    assert result.rc == 125, str(result)
    assert len(result.err.strip().splitlines()) == 1, str(result)
    assert str(path) in result.err and "Traceback" not in result.err
    assert set(shocker("ps", "-a", "-q").check().lines) == before


def test_an_unknown_security_opt_is_refused(shocker: Shocker, busybox_id: str) -> None:
    result = shocker("run", "--rm", "--security-opt", "apparmor=x", busybox_id, "true")
    assert result.rc == 125 and "--security-opt" in result.err, str(result)


def test_no_new_privileges_can_be_named_and_turned_off(shocker: Shocker, busybox_id: str) -> None:
    on = out(shocker, "--security-opt", "no-new-privileges", busybox_id, "cat", "/proc/self/status")
    assert "NoNewPrivs:\t1" in on
    off = ["--security-opt", "no-new-privileges=false", "-u", "1000"]
    text = out(shocker, *off, busybox_id, "cat", "/proc/self/status")
    # Without no_new_privs the filter is installed before the capabilities are dropped.
    assert "NoNewPrivs:\t0" in text and seccomp_line(text) == "2"


OPEN_KMSG = "mknod /tmp/kmsg c 1 11 && exec 3</tmp/kmsg && echo opened"
OPEN_MEM = "mknod /tmp/mem c 1 1 && exec 3</tmp/mem && echo opened"
# Opening tun needs no capability: only the device cgroup refuses it.
OPEN_TUN = "mknod /tmp/tun c 10 200 && exec 3<>/tmp/tun && echo opened"


@pytest.mark.parametrize("script", [OPEN_KMSG, OPEN_MEM, OPEN_TUN])
def test_only_the_standard_devices_open(shocker: Shocker, busybox_id: str, script: str) -> None:
    result = shocker("run", "--rm", busybox_id, "sh", "-c", script)
    assert result.rc != 0 and "Operation not permitted" in result.err, str(result)
    text = out(shocker, busybox_id, "sh", "-c", "exec 3</dev/urandom 4>/dev/null && echo opened")
    assert "opened" in text


def test_exec_is_held_by_the_device_rules_too(
    shocker: Shocker, busybox_id: str, run_detached: object
) -> None:
    assert callable(run_detached)
    container = run_detached(busybox_id, "sleep", "30")
    result = shocker("exec", container, "sh", "-c", OPEN_TUN)
    assert result.rc != 0 and "Operation not permitted" in result.err, str(result)
    v1 = Path("/sys/fs/cgroup/devices") / shocker.env["SHOCKER_CGROUP_PARENT"] / container
    if v1.is_dir():
        rules = set((v1 / "devices.list").read_text().splitlines())
        standard = {"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm"}
        assert rules == standard | {"c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm"} | {
            "c *:* m",
            "b *:* m",
        }


def test_device_flag_adds_one_node_with_its_permissions(shocker: Shocker, busybox_id: str) -> None:
    flags = ["--device", "/dev/net/tun:/dev/tun:r"]
    assert "opened" in out(
        shocker, *flags, busybox_id, "sh", "-c", "exec 3</dev/tun && echo opened"
    )
    result = shocker("run", "--rm", *flags, busybox_id, "sh", "-c", "exec 3>/dev/tun")
    assert result.rc != 0 and "Operation not permitted" in result.err, str(result)
    bad = shocker("run", "--rm", "--device", "/etc/passwd", busybox_id, "true")
    assert bad.rc == 125 and "--device" in bad.err, str(bad)


def test_privileged_may_open_any_device(shocker: Shocker, busybox_id: str) -> None:
    assert "opened" in out(shocker, "--privileged", busybox_id, "sh", "-c", OPEN_TUN)


def cgroup_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln]


def test_a_private_cgroup_namespace_shows_every_hierarchy_at_its_root(
    shocker: Shocker, busybox_id: str, run_detached: object
) -> None:
    lines = cgroup_lines(out(shocker, busybox_id, "cat", "/proc/self/cgroup"))
    assert lines and all(ln.endswith(":/") for ln in lines), lines
    assert callable(run_detached)
    container = run_detached(busybox_id, "sleep", "30")
    lines = cgroup_lines(shocker("exec", container, "cat", "/proc/self/cgroup").check().out)
    assert lines and all(ln.endswith(":/") for ln in lines), lines
    host = cgroup_lines(out(shocker, "--cgroupns", "host", busybox_id, "cat", "/proc/self/cgroup"))
    assert any(
        container_cgroup in ln
        for ln in host
        for container_cgroup in ["/" + shocker.env["SHOCKER_CGROUP_PARENT"]]
    )
    bad = shocker("run", "--rm", "--cgroupns", "sideways", busybox_id, "true")
    assert bad.rc == 125 and "--cgroupns" in bad.err, str(bad)


def test_sys_fs_cgroup_is_read_only_and_shows_the_containers_limits(
    shocker: Shocker, busybox_id: str
) -> None:
    mounts = [ln.split() for ln in out(shocker, busybox_id, "cat", "/proc/mounts").splitlines()]
    cgroup = [m for m in mounts if m[1].startswith("/sys/fs/cgroup")]
    assert cgroup and all(m[3].split(",")[0] == "ro" for m in cgroup), cgroup
    script = (
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null"
        " || cat /sys/fs/cgroup/memory.max"
    )
    assert out(shocker, "-m", "48m", busybox_id, "sh", "-c", script).strip() == str(48 << 20)
    default = out(shocker, busybox_id, "sh", "-c", script).strip()
    assert default == str(512 << 20)  # SHOCKER_MEM_LIMIT's default
    result = shocker("run", "--rm", busybox_id, "mkdir", "/sys/fs/cgroup/memory/child")
    assert result.rc != 0 and "Read-only" in result.err, str(result)


def test_with_the_hosts_cgroup_namespace_sys_fs_cgroup_is_still_the_containers_own(
    shocker: Shocker, busybox_id: str
) -> None:
    """A new cgroup mount there shows the host's whole tree (every container's cgroup, the
    host's limits): the container's own cgroup is what it sees, as under runc."""
    script = (
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null"
        " || cat /sys/fs/cgroup/memory.max; grep ' /sys/fs/cgroup' /proc/mounts"
    )
    text = out(shocker, "--cgroupns", "host", "-m", "48m", busybox_id, "sh", "-c", script)
    limit, *mounts = text.splitlines()
    assert limit == str(48 << 20)
    assert mounts and all(m.split()[3].startswith("ro,") for m in mounts), mounts


def test_privileged_may_make_a_child_cgroup(shocker: Shocker, busybox_id: str) -> None:
    script = "mkdir /sys/fs/cgroup/memory/child && rmdir /sys/fs/cgroup/memory/child && echo made"
    memory = Path("/sys/fs/cgroup/memory")
    if not memory.is_dir():
        script = "mkdir /sys/fs/cgroup/child && rmdir /sys/fs/cgroup/child && echo made"
    assert "made" in out(shocker, "--privileged", busybox_id, "sh", "-c", script)


def test_any_user_may_bind_low_ports(shocker: Shocker, busybox_id: str) -> None:
    text = out(shocker, busybox_id, "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start")
    assert text.strip() == "0"
    script = "nc -l -p 80 & sleep 0.3; kill $! && echo bound"
    assert "bound" in out(shocker, "-u", "1000", busybox_id, "sh", "-c", script)


def test_read_only_root_with_tmp_and_volumes_writable_only_as_asked(
    shocker: Shocker, busybox_id: str, tmp_path: Path
) -> None:
    flags = ["--read-only", "-v", f"{tmp_path}:/data"]
    for path in ("/made", "/tmp/made"):
        result = shocker("run", "--rm", *flags, busybox_id, "touch", path)
        assert result.rc != 0 and "Read-only file system" in result.err, str(result)
    assert "ok" in out(shocker, *flags, busybox_id, "sh", "-c", "touch /data/made && echo ok")
    assert (tmp_path / "made").exists()
    tmp = [*flags, "--tmpfs", "/tmp:size=1m,mode=1777"]
    script = "touch /tmp/made && grep ' /tmp ' /proc/mounts"
    line = out(shocker, *tmp, busybox_id, "sh", "-c", script)
    assert "tmpfs" in line and "noexec" in line and "size=1024k" in line, line


def test_sysctl_sets_namespaced_keys_and_refuses_host_ones(
    shocker: Shocker, busybox_id: str
) -> None:
    flags = ["--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shmmni=1000"]
    script = "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni"
    assert out(shocker, *flags, busybox_id, "sh", "-c", script).split() == ["1", "1000"]
    for bad in ("kernel.panic=1", "vm.swappiness=1", "noequals"):
        result = shocker("run", "--rm", "--sysctl", bad, busybox_id, "true")
        assert result.rc == 125 and "--sysctl" in result.err, str(result)
    hosted = shocker(
        "run", "--rm", "--network", "host", "--sysctl", "net.ipv4.ip_forward=1", busybox_id, "true"
    )
    assert hosted.rc == 125, str(hosted)


def test_ulimit_for_run_and_exec(shocker: Shocker, busybox_id: str, run_detached: object) -> None:
    # Below the hard limits this host gives: raising one needs CAP_SYS_RESOURCE.
    flags = ["--ulimit", "nofile=256:512", "--ulimit", "core=0"]
    text = out(shocker, *flags, busybox_id, "sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c")
    assert text.split() == ["256", "512", "0"]
    assert callable(run_detached)
    container = run_detached(*flags, busybox_id, "sleep", "30")
    assert shocker("exec", container, "sh", "-c", "ulimit -n").check().out.strip() == "256"
    bad = shocker("run", "--rm", "--ulimit", "nofile=9:3", busybox_id, "true")
    assert bad.rc == 125 and "--ulimit" in bad.err, str(bad)


UNIFIED = Path("/sys/fs/cgroup/unified")


@pytest.fixture
def v2_shocker(shocker: Shocker) -> Iterator[Shocker]:
    """The CLI on the cgroup v2 driver: this host's cgroup2 mount as SHOCKER_CGROUP_ROOT."""
    root = UNIFIED if (UNIFIED / "cgroup.controllers").exists() else Path("/sys/fs/cgroup")
    if not (root / "cgroup.controllers").exists():
        pytest.skip("no cgroup2 mount")
    yield shocker.with_env(SHOCKER_CGROUP_ROOT=str(root))
    parent = root / shocker.env["SHOCKER_CGROUP_PARENT"]
    if parent.is_dir() and root == UNIFIED:
        for child in parent.iterdir():
            if child.is_dir():
                child.rmdir()
        parent.rmdir()


def test_on_cgroup_v2_the_namespace_and_the_device_program_hold_for_run_and_exec(
    v2_shocker: Shocker, busybox_id: str
) -> None:
    lines = cgroup_lines(out(v2_shocker, busybox_id, "cat", "/proc/self/cgroup"))
    assert "0::/" in lines and all(ln.endswith(":/") for ln in lines), lines
    result = v2_shocker("run", "--rm", busybox_id, "sh", "-c", OPEN_TUN)
    assert result.rc != 0 and "Operation not permitted" in result.err, str(result)
    container = v2_shocker("run", "-d", busybox_id, "sleep", "30").check().lines[-1].strip()
    try:
        result = v2_shocker("exec", container, "sh", "-c", OPEN_TUN)
        assert result.rc != 0 and "Operation not permitted" in result.err, str(result)
        lines = cgroup_lines(v2_shocker("exec", container, "cat", "/proc/self/cgroup").check().out)
        assert "0::/" in lines, lines
    finally:
        v2_shocker("rm", "-f", container).check()
    assert "opened" in out(v2_shocker, "--privileged", busybox_id, "sh", "-c", OPEN_TUN)


def test_the_same_confinement_under_runc(shocker: Shocker, busybox_id: str) -> None:
    """The bundle the engine hands another runtime carries all of it (issue: --runtime)."""
    if shutil.which("runc") is None:
        pytest.skip("runc is not installed")
    script = (
        "grep Seccomp: /proc/self/status; cat /proc/self/cgroup;"
        " cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shmmni; ulimit -n;"
        " (exec 3</dev/fuse) && echo fuse-read; (exec 3>/dev/fuse) || echo fuse-write-refused;"
        " (mknod /dev/shm/kmsg c 1 11 && exec 3</dev/shm/kmsg) || echo kmsg-refused;"
        " touch /made || echo root-read-only; touch /run/x && echo tmpfs-writable"
    )
    flags = [
        "--read-only",
        "--tmpfs",
        "/run",
        "--sysctl",
        "kernel.shmmni=1000",
        "--ulimit",
        "nofile=256:512",
        "--device",
        "/dev/fuse:/dev/fuse:r",  # not tun: runc allows that one always
    ]
    for runtime in ([], ["--runtime", "runc"]):
        result = shocker("run", "--rm", *runtime, *flags, busybox_id, "sh", "-c", script)
        lines = result.out.splitlines()
        assert lines[0].split() == ["Seccomp:", "2"], (runtime, str(result))
        cgroups = [ln for ln in lines if ln.count(":") >= 2 and not ln.startswith("Seccomp")]
        assert cgroups and all(ln.endswith(":/") for ln in cgroups), (runtime, str(result))
        for expected in ("0", "1000", "256", "fuse-read", "fuse-write-refused"):
            assert expected in lines, (runtime, expected, str(result))
        for expected in ("kmsg-refused", "root-read-only", "tmpfs-writable"):
            assert expected in lines, (runtime, expected, str(result))
