"""`shocker run`: output, exit codes, image config, flags, isolation and hardening."""

from __future__ import annotations

import os
import re

import pytest

from shocker.oci import runtime_spec as rs
from tests.support.assertions import assert_one_line_error
from tests.support.shocker import Shocker

DOCKER_DEFAULT_CAPEFF = 0x00000000A80425FB


def run(shocker: Shocker, *args: str) -> str:
    return shocker("run", "--rm", *args).check().out


def test_command_output_reaches_the_caller(shocker: Shocker, busybox_id: str) -> None:
    assert run(shocker, busybox_id, "cat", "/etc/issue").strip() != ""
    assert run(shocker, busybox_id, "echo", "hello world") == "hello world\n"


def test_image_can_be_named_instead_of_id(shocker: Shocker, busybox_id: str) -> None:
    assert run(shocker, "busybox", "echo", "by name") == "by name\n"


def test_exit_status_is_the_containers(shocker: Shocker, busybox_id: str) -> None:
    assert shocker("run", "--rm", busybox_id, "sh", "-c", "exit 3").rc == 3


def test_missing_command_exits_127_and_not_executable_126(
    shocker: Shocker, busybox_id: str
) -> None:
    missing = shocker("run", "--rm", busybox_id, "/no/such/program")
    assert missing.rc == 127, str(missing)
    assert "Traceback" not in missing.err
    not_exec = shocker("run", "--rm", busybox_id, "/etc/passwd")
    assert not_exec.rc == 126, str(not_exec)


def test_shell_syntax_in_one_argument_runs_through_sh(shocker: Shocker, busybox_id: str) -> None:
    assert run(shocker, busybox_id, "echo a && echo b") == "a\nb\n"


def test_no_command_runs_the_images_own(shocker: Shocker, busybox_id: str) -> None:
    # The busybox image's CMD is `sh`: with stdin closed it exits 0 at once.
    assert shocker("run", "--rm", busybox_id).rc == 0


def test_command_is_pid_1_and_host_pids_are_invisible(shocker: Shocker, busybox_id: str) -> None:
    assert run(shocker, busybox_id, "sh", "-c", "echo $$") == "1\n"
    pids = run(shocker, busybox_id, "ls", "/proc").split()
    numeric = [p for p in pids if p.isdigit()]
    assert numeric and max(int(p) for p in numeric) < 10
    assert str(os.getpid()) not in numeric or os.getpid() < 10


def test_hostname_is_the_container_id_or_the_flag(shocker: Shocker, busybox_id: str) -> None:
    result = shocker("run", busybox_id, "hostname").check()
    listed = [ln for ln in shocker("ps").check().lines if ln.endswith("hostname")]
    container_id = listed[0].split()[0]
    assert result.out.strip() == container_id
    shocker("rm", container_id).check()
    assert run(shocker, "--hostname", "box", busybox_id, "hostname") == "box\n"


def test_capabilities_are_dockers_default_set(shocker: Shocker, busybox_id: str) -> None:
    status = run(shocker, busybox_id, "cat", "/proc/self/status")
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    for name in ("CapEff", "CapPrm", "CapBnd"):
        assert int(fields[name], 16) == DOCKER_DEFAULT_CAPEFF, name
    assert fields["NoNewPrivs"].strip() == "1"


def test_mount_is_refused_without_privileged(shocker: Shocker, busybox_id: str) -> None:
    refused = shocker("run", "--rm", busybox_id, "mount", "-t", "tmpfs", "x", "/mnt")
    assert refused.rc != 0
    allowed = shocker(
        "run", "--rm", "--privileged", busybox_id, "sh", "-c", "mount -t tmpfs x /mnt && echo ok"
    )
    assert allowed.out == "ok\n", str(allowed)


def test_cap_add_and_cap_drop_change_the_set(shocker: Shocker, busybox_id: str) -> None:
    status = run(
        shocker,
        "--cap-drop",
        "CHOWN",
        "--cap-add",
        "NET_ADMIN",
        busybox_id,
        "grep",
        "CapEff",
        "/proc/self/status",
    )
    value = int(status.split()[1], 16)
    assert not value & (1 << 0)  # CAP_CHOWN
    assert value & (1 << 12)  # CAP_NET_ADMIN


def test_sensitive_proc_paths_are_masked_and_read_only(shocker: Shocker, busybox_id: str) -> None:
    masked = ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug"]
    script = "for f in " + " ".join(masked) + "; do [ -e $f ] && echo $f $(wc -c < $f); done; true"
    sizes = run(shocker, busybox_id, "sh", "-c", script).split("\n")
    present = [line.split() for line in sizes if line]
    assert present, "none of the masked paths exists in this kernel"
    assert all(size == "0" for _, size in present), present
    write = shocker("run", "--rm", busybox_id, "sh", "-c", "echo 1 > /proc/sys/kernel/panic")
    assert write.rc != 0
    assert shocker("run", "--rm", busybox_id, "touch", "/sys/x").rc != 0


def test_dev_has_the_standard_nodes(shocker: Shocker, busybox_id: str) -> None:
    listing = run(shocker, busybox_id, "ls", "/dev")
    for node in ("null", "zero", "full", "random", "urandom", "tty", "pts", "shm"):
        assert node in listing.split()


def test_env_workdir_user_and_entrypoint_flags(shocker: Shocker, busybox_id: str) -> None:
    assert run(shocker, "-e", "GREETING=hi", busybox_id, "sh", "-c", "echo $GREETING") == "hi\n"
    assert run(shocker, "-w", "/tmp", busybox_id, "pwd") == "/tmp\n"
    assert run(shocker, "-u", "nobody", busybox_id, "id", "-un") == "nobody\n"
    assert run(shocker, "-u", "1234:5678", busybox_id, "id").startswith("uid=1234 gid=5678")
    assert run(shocker, "--entrypoint", "echo", busybox_id, "from", "entry") == "from entry\n"


def test_the_container_runs_the_config_json_kept_beside_it(
    shocker: Shocker, busybox_id: str
) -> None:
    container = shocker("run", "-d", "-u", "nobody", "-w", "/srv", busybox_id, "sleep", "60")
    container_id = container.check().lines[-1]
    try:
        directory = shocker.root / ".shocker" / "containers" / container_id
        spec = rs.loads((directory / "config.json").read_text())
        assert spec.process is not None
        assert spec.process.args == ("sleep", "60")
        assert (spec.process.user.uid, spec.process.cwd) == (65534, "/srv")
        assert spec.root.path == str(shocker.root / container_id)
        inside = shocker("exec", container_id, "sh", "-c", "cat /proc/1/cmdline; id -u; pwd")
        assert inside.check().out == "sleep\x0060\x00" + "65534\n/srv\n"
    finally:
        shocker("rm", "-f", container_id)


def test_an_unknown_user_fails_the_start_with_125(shocker: Shocker, busybox_id: str) -> None:
    result = shocker(
        "run", "--name", "nobody-here", "--network", "none", "-u", "bob", busybox_id, "true"
    )
    assert result.rc == 125
    assert_one_line_error(result, "unable to find user bob")
    assert "Exited (125)" in shocker("ps", "-a", "--filter", "name=nobody-here").check().out
    shocker("rm", "nobody-here").check()


def test_a_bind_of_the_hosts_dev_replaces_the_containers(shocker: Shocker, busybox_id: str) -> None:
    script = "test -e /dev/btrfs-control && ls -l /dev/null"
    out = run(shocker, "--network", "none", "-v", "/dev:/dev", busybox_id, "sh", "-c", script)
    assert " 1,   3 " in out


def test_resolv_conf_hosts_and_hostname_files_are_provided(
    shocker: Shocker, busybox_id: str
) -> None:
    out = run(
        shocker,
        "--hostname",
        "web1",
        "--name",
        "web-name",
        busybox_id,
        "cat",
        "/etc/hostname",
        "/etc/hosts",
    )
    assert out.startswith("web1\n")
    assert "web1 web-name" in out
    assert "localhost" in out
    assert "nameserver" in run(shocker, busybox_id, "cat", "/etc/resolv.conf")


def test_rm_flag_leaves_no_container(shocker: Shocker, busybox_id: str) -> None:
    before = set(shocker("ps", "-q").check().lines)
    shocker("run", "--rm", busybox_id, "sh", "-c", "exit 4")
    assert set(shocker("ps", "-q").check().lines) == before
    leftovers = [p.name for p in shocker.root.iterdir() if p.name.startswith("ps-")]
    assert not set(leftovers) - before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-image-xyz"], "No image named"),
        (["--memory", "lots", "busybox", "true"], "memory"),
        (["--cpus", "fast", "busybox", "true"], "cpus"),
        (["-v", "/definitely/not/here:/x", "busybox", "true"], "does not exist"),
        (["-v", "a:b:c:d", "busybox", "true"], "invalid volume"),
        (["--bogus-flag", "busybox"], "bogus"),
    ],
)
def test_bad_input_is_one_line_and_leaves_nothing(
    shocker: Shocker, busybox_id: str, args: list[str], message: str
) -> None:
    before = set(shocker("ps", "-q").check().lines)
    result = shocker("run", "--rm", *args)
    assert result.rc != 0
    assert message.lower() in result.err.lower(), str(result)
    # Docker's informational "Unable to find image ... locally" may precede the error.
    errors = [ln for ln in result.err.splitlines() if not ln.startswith("Unable to find image")]
    assert len(errors) == 1, str(result)
    assert "Traceback" not in result.err
    assert set(shocker("ps", "-q").check().lines) == before


def test_image_without_a_command_needs_one(shocker: Shocker, tmp_path: object) -> None:
    from pathlib import Path

    rootfs = Path(str(tmp_path)) / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    image = shocker("init", str(rootfs)).check().created_id()
    try:
        result = shocker("run", "--rm", image)
        assert result.rc == 125
        assert re.search("no command", result.err, re.IGNORECASE), str(result)
    finally:
        shocker("rmi", image)
