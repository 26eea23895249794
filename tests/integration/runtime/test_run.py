"""launcher.start in the foreground: isolation, hardening, exit codes, I/O and callbacks."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from shocker.errors import RuntimeFailure
from shocker.linux.proc import is_alive
from shocker.oci import runtime_spec as rs
from shocker.runtime import launcher
from tests.integration.runtime.starts import Start, bind

MakeSpec = Callable[..., Start]


def run(start: Start, events: Path | None = None) -> int:
    """Start in the foreground; the supervisor's callbacks leave files in `events`."""

    def on_started(pid: int, supervisor: int) -> None:
        if events:
            (events / "started").write_text(f"{pid} {supervisor}")

    def on_exit(status: launcher.ExitStatus) -> None:
        if events:
            (events / "exit").write_text(f"{status.exit_code} {status.signal}")

    return launcher.start(
        *start, detach=False, on_created=lambda pid: None, on_started=on_started, on_exit=on_exit
    )


def output(
    make_spec: MakeSpec, capfd: pytest.CaptureFixture[str], script: str, **kw: object
) -> str:
    assert run(make_spec("sh", "-c", script, **kw)) == 0
    return capfd.readouterr().out


def test_command_is_pid_1_with_the_container_hostname(
    make_spec: MakeSpec, capfd: pytest.CaptureFixture[str]
) -> None:
    assert output(make_spec, capfd, "echo $$; hostname").split() == ["1", "ps-7e57a"]


def test_host_processes_are_invisible(
    make_spec: MakeSpec, capfd: pytest.CaptureFixture[str]
) -> None:
    pids = output(make_spec, capfd, "ls /proc | grep '^[0-9]'").split()
    assert str(os.getpid()) not in pids
    assert len(pids) <= 3  # sh, ls, grep


def test_capabilities_are_dockers_default_set_with_no_new_privs(
    make_spec: MakeSpec, capfd: pytest.CaptureFixture[str]
) -> None:
    status = dict(
        line.split(":\t")
        for line in output(make_spec, capfd, "cat /proc/self/status").splitlines()
        if ":\t" in line
    )
    assert status["CapEff"] == "00000000a80425fb"
    assert status["CapPrm"] == "00000000a80425fb"
    assert status["CapBnd"] == "00000000a80425fb"
    assert status["CapInh"] == "0000000000000000"
    assert status["CapAmb"] == "0000000000000000"
    assert status["NoNewPrivs"] == "1"


def test_mounting_inside_is_refused(make_spec: MakeSpec, capfd: pytest.CaptureFixture[str]) -> None:
    assert run(make_spec("mount", "-t", "tmpfs", "x", "/mnt")) != 0
    assert "permission denied" in capfd.readouterr().err


@pytest.mark.parametrize("path", ["/proc/kcore", "/proc/keys", "/proc/timer_list"])
def test_sensitive_proc_files_are_masked(
    make_spec: MakeSpec, capfd: pytest.CaptureFixture[str], path: str
) -> None:
    if not Path(path).exists():
        pytest.skip(f"this kernel has no {path}")
    assert output(make_spec, capfd, f"wc -c < {path}").strip() == "0"


def test_proc_sys_is_read_only(make_spec: MakeSpec, capfd: pytest.CaptureFixture[str]) -> None:
    assert run(make_spec("sh", "-c", "echo x > /proc/sys/kernel/hostname")) != 0
    assert "Read-only file system" in capfd.readouterr().err


def test_sys_is_read_only(make_spec: MakeSpec, capfd: pytest.CaptureFixture[str]) -> None:
    assert " /sys sysfs ro," in output(make_spec, capfd, "cat /proc/mounts")


def test_dev_holds_the_standard_nodes(
    make_spec: MakeSpec, capfd: pytest.CaptureFixture[str]
) -> None:
    names = output(make_spec, capfd, "ls /dev").split()
    for name in ("null", "zero", "full", "random", "urandom", "tty", "pts", "ptmx", "shm", "fd"):
        assert name in names
    assert "console" not in names


@pytest.mark.parametrize("code", [0, 3, 255])
def test_exit_code_is_the_commands(make_spec: MakeSpec, tmp_path: Path, code: int) -> None:
    assert run(make_spec("sh", "-c", f"exit {code}"), tmp_path) == code
    assert (tmp_path / "exit").read_text() == f"{code} None"


def test_killed_command_exits_128_plus_signal(make_spec: MakeSpec, tmp_path: Path) -> None:
    def on_exit(status: launcher.ExitStatus) -> None:
        (tmp_path / "exit").write_text(f"{status.exit_code} {status.signal}")

    # on_started runs in the supervisor, outside the pid namespace: SIGKILL reaches pid 1.
    code = launcher.start(
        *make_spec("sleep", "60"),
        detach=False,
        on_created=lambda pid: None,
        on_started=lambda pid, supervisor: os.kill(pid, signal.SIGKILL),
        on_exit=on_exit,
    )
    assert code == 137
    assert (tmp_path / "exit").read_text() == "137 9"


def test_pid_1_cannot_be_killed_from_inside(
    make_spec: MakeSpec, capfd: pytest.CaptureFixture[str]
) -> None:
    # pid_namespaces(7): init is immune to SIGKILL from its own namespace.
    assert output(make_spec, capfd, "kill -9 $$; echo survived") == "survived\n"


def test_missing_command_fails_with_127(make_spec: MakeSpec, tmp_path: Path) -> None:
    with pytest.raises(RuntimeFailure, match="executable file not found") as failure:
        run(make_spec("no-such-command"), tmp_path)
    assert failure.value.exit_code == 127
    assert not (tmp_path / "started").exists()
    assert not (tmp_path / "exit").exists()


def test_non_executable_file_fails_with_126(make_spec: MakeSpec) -> None:
    with pytest.raises(RuntimeFailure, match="permission denied") as failure:
        run(make_spec("/etc/passwd"))
    assert failure.value.exit_code == 126


def test_an_unknown_user_fails_with_125_as_the_spec_is_made(make_spec: MakeSpec) -> None:
    # -u is resolved on the host, through descriptors in the rootfs (engine/bundle.py).
    with pytest.raises(RuntimeFailure, match="unable to find user bob") as failure:
        make_spec("touch", "/ran", user="bob")
    assert failure.value.exit_code == 125


def test_on_created_sees_a_live_pid_before_the_command_runs(make_spec: MakeSpec) -> None:
    seen: list[tuple[bool, bytes, bool]] = []

    def on_created(pid: int) -> None:
        namespace_is_new = (
            Path(f"/proc/{pid}/ns/mnt").readlink() != Path("/proc/self/ns/mnt").readlink()
        )
        seen.append(
            (is_alive(pid, None), Path(f"/proc/{pid}/cmdline").read_bytes(), namespace_is_new)
        )

    code = launcher.start(
        *make_spec("sleep", "0"),
        detach=False,
        on_created=on_created,
        on_started=lambda pid, supervisor: None,
        on_exit=lambda status: None,
    )
    assert code == 0
    [(alive, cmdline, namespace_is_new)] = seen
    assert alive
    assert namespace_is_new
    assert not cmdline.startswith(b"sleep")


def test_failing_on_created_stops_the_start_cleanly(make_spec: MakeSpec, rootfs: Path) -> None:
    def on_created(pid: int) -> None:
        raise RuntimeError("no cgroup today")

    with pytest.raises(RuntimeError, match="no cgroup today"):
        launcher.start(
            *make_spec("touch", "/ran"),
            detach=False,
            on_created=on_created,
            on_started=lambda pid, supervisor: None,
            on_exit=lambda status: None,
        )
    assert not (rootfs / "ran").exists()


def test_stdout_and_stderr_reach_the_caller_and_the_log(
    make_spec: MakeSpec, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(make_spec("sh", "-c", "echo to-out; echo to-err >&2")) == 0
    captured = capfd.readouterr()
    assert captured.out == "to-out\n"
    assert captured.err == "to-err\n"
    log = (tmp_path / "container.log").read_text()
    assert "to-out\n" in log
    assert "to-err\n" in log


def test_stdin_is_empty_without_interactive(
    make_spec: MakeSpec, capfd: pytest.CaptureFixture[str]
) -> None:
    assert output(make_spec, capfd, "cat; echo done") == "done\n"


def test_user_nobody_runs_without_capabilities(
    make_spec: MakeSpec, capfd: pytest.CaptureFixture[str]
) -> None:
    out = output(make_spec, capfd, "id; grep CapEff /proc/self/status", user="nobody")
    assert "uid=65534(nobody) gid=65534(nogroup)" in out
    assert "CapEff:\t0000000000000000" in out


def test_env_and_working_directory_are_the_specs(
    make_spec: MakeSpec, capfd: pytest.CaptureFixture[str]
) -> None:
    out = output(
        make_spec,
        capfd,
        'echo "$GREETING $HOME $HOSTNAME"; pwd',
        env=("PATH=/bin", "GREETING=hi"),
        cwd="/work/dir",
    )
    assert out == "hi /root ps-7e57a\n/work/dir\n"


def test_new_network_namespace_has_only_loopback_up(
    make_spec: MakeSpec, capfd: pytest.CaptureFixture[str]
) -> None:
    out = output(make_spec, capfd, "cat /proc/net/dev; ip link")
    assert [line.split(":")[0].strip() for line in out.splitlines() if ":" in line][:1] == ["lo"]
    assert "state UNKNOWN" in out or "UP" in out


def test_binds_and_tmpfs_from_the_spec_are_mounted(
    make_spec: MakeSpec, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "file").write_text("from the host\n")
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    mounts = (
        bind(str(data), "/data", readonly=True),
        bind(str(hosts), "/etc/hosts"),
        rs.Mount(destination="/scratch", type="tmpfs", source="tmpfs", options=("size=1m",)),
    )
    out = output(
        make_spec,
        capfd,
        "cat /data/file /etc/hosts; touch /data/x 2>/dev/null || echo ro;"
        " touch /scratch/y && echo rw",
        mounts=mounts,
    )
    assert out == "from the host\n127.0.0.1 localhost\nro\nrw\n"
    assert not (data / "x").exists()


def test_a_symlink_in_the_image_cannot_send_a_mount_to_the_host(
    make_spec: MakeSpec, rootfs: Path, tmp_path: Path
) -> None:
    host_dir = tmp_path / "host-side"
    host_dir.mkdir()
    (rootfs / "evil").symlink_to(str(host_dir))
    source = tmp_path / "source"
    source.mkdir()
    assert run(make_spec("true", mounts=(bind(str(source), "/evil/created"),))) == 0
    assert not (host_dir / "created").exists()
    assert (rootfs / str(host_dir).lstrip("/") / "created").is_dir()


def test_open_files_limit_is_set(make_spec: MakeSpec, capfd: pytest.CaptureFixture[str]) -> None:
    assert (
        output(
            make_spec, capfd, "ulimit -n", rlimits=(rs.Rlimit("RLIMIT_NOFILE", 4321, 4321),)
        ).strip()
        == "4321"
    )


def test_privileged_keeps_every_capability_and_may_mount(
    make_spec: MakeSpec, capfd: pytest.CaptureFixture[str]
) -> None:
    out = output(
        make_spec,
        capfd,
        "grep CapEff /proc/self/status; mount -t tmpfs x /mnt && echo mounted",
        privileged=True,
    )
    host_caps = next(
        line
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("CapEff")
    )
    assert host_caps in out
    assert "mounted" in out
