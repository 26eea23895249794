"""containerd drives the runtime through its runc shim (`ctr run --runc-binary`): the same
checks pass with shocker-runtime and with runc."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pexpect

from tests.support.containerd import IMAGE, Containerd


def _id() -> str:
    return "t" + secrets.token_hex(4)


def _status_lines(text: str) -> list[str]:
    wanted = ("Cap", "NoNewPrivs", "Seccomp:")
    return [line for line in text.splitlines() if line.startswith(wanted)]


def _remove(ctrd: Containerd, container: str) -> None:
    ctrd.ctr("tasks", "kill", "-s", "SIGKILL", container, check=False)
    for _ in range(100):
        if "RUNNING" not in ctrd.ctr("tasks", "ls", check=False).stdout.split(container)[-1][:40]:
            break
        time.sleep(0.05)
    ctrd.ctr("tasks", "delete", container, check=False)
    ctrd.ctr("containers", "delete", container, check=False)


def test_foreground_output_and_exit_code(ctrd: Containerd, runtime: str) -> None:
    result = ctrd.ctr(
        "run", "--rm", "--runc-binary", runtime, IMAGE, _id(),
        "sh", "-c", "echo hello from $(hostname); exit 3",
        check=False,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert result.stdout.startswith("hello from ")


def test_detached_exec_ps_kill(ctrd: Containerd, runtime: str) -> None:
    container = _id()
    try:
        ctrd.ctr("run", "-d", "--runc-binary", runtime, IMAGE, container, "sleep", "300")
        task = ctrd.ctr("tasks", "ls").stdout
        line = next(row for row in task.splitlines() if row.startswith(container))
        assert "RUNNING" in line
        init_pid = int(line.split()[1])
        exec_result = ctrd.ctr(
            # ctr may stop copying output once the exit is reported; a pause lets it drain.
            "tasks", "exec", "--exec-id", "e1", container, "sh", "-c", "echo in; sleep 0.2; exit 4",
            check=False,
        )  # fmt: skip
        assert (exec_result.returncode, exec_result.stdout) == (4, "in\n")
        ctrd.ctr("tasks", "exec", "-d", "--exec-id", "e2", container, "sleep", "300")
        pids = [
            int(row.split()[0])
            for row in ctrd.ctr("tasks", "ps", container).stdout.splitlines()[1:]
        ]
        assert init_pid in pids and len(pids) == 2
        ctrd.ctr("tasks", "kill", "-s", "SIGKILL", container)
        for _ in range(100):
            if "STOPPED" in ctrd.ctr("tasks", "ls").stdout:
                break
            time.sleep(0.05)
        assert "STOPPED" in ctrd.ctr("tasks", "ls").stdout
        assert (
            not Path(f"/proc/{init_pid}").exists()
            or "Z" in Path(f"/proc/{init_pid}/stat").read_text().split(")")[-1][:3]
        )
    finally:
        _remove(ctrd, container)


def test_terminal(ctrd: Containerd, runtime: str) -> None:
    child = pexpect.spawn(
        "ctr",
        ["--address", str(ctrd.socket), "run", "-t", "--rm", "--runc-binary", runtime,
         IMAGE, _id(), "sh", "-c", "tty; read line; echo got $line; exit 5"],
        timeout=30,
        encoding="utf-8",
    )  # fmt: skip
    child.expect("/dev/pts/")
    child.sendline("word")
    child.expect("got word")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 5


def test_seccomp_and_memory_limit(ctrd: Containerd, runtime: str) -> None:
    container = _id()
    limit = 64 * 2**20
    try:
        ctrd.ctr(
            "run", "-d", "--seccomp", "--memory-limit", str(limit), "--runc-binary", runtime,
            IMAGE, container, "sleep", "300",
        )  # fmt: skip
        status = ctrd.ctr("tasks", "exec", "--exec-id", "s", container, "cat", "/proc/self/status")
        assert "Seccomp:\t2" in status.stdout
        v1 = Path(f"/sys/fs/cgroup/memory/default/{container}/memory.limit_in_bytes")
        v2 = Path(f"/sys/fs/cgroup/default/{container}/memory.max")
        assert int((v1 if v1.exists() else v2).read_text()) == limit
        # Denied by containerd's default profile: the filter is really there.
        denied = ctrd.ctr(
            "tasks", "exec", "--exec-id", "u", container, "unshare", "-U", "true", check=False
        )
        assert denied.returncode != 0
    finally:
        _remove(ctrd, container)


def test_confinement_matches_runc(ctrd: Containerd) -> None:
    """The Cap*, NoNewPrivs and Seccomp lines of the container's own status are runc's."""
    import shutil

    from tests.integration.ociruntime.conftest import SHOCKER_RUNTIME

    lines = []
    for binary in (SHOCKER_RUNTIME, shutil.which("runc") or "runc"):
        result = ctrd.ctr(
            "run", "--rm", "--seccomp", "--runc-binary", binary, IMAGE, _id(),
            "cat", "/proc/self/status",
        )  # fmt: skip
        lines.append(_status_lines(result.stdout))
    assert lines[0] == lines[1]
    assert any(line.startswith("CapBnd") for line in lines[0])


def test_privileged_host_network_and_host_devices(ctrd: Containerd, runtime: str) -> None:
    # --privileged lists every host device, /dev/ptmx among them: it stays devpts's own link.
    result = ctrd.ctr(
        "run", "--rm", "--privileged", "--net-host", "--runc-binary", runtime, IMAGE, _id(),
        "sh", "-c", "readlink /dev/ptmx; test -c /dev/loop-control && echo loop; "
        "grep -E '^(CapEff|Seccomp):' /proc/self/status",
    )  # fmt: skip
    lines = result.stdout.splitlines()
    assert lines[:2] == ["pts/ptmx", "loop"], result.stdout
    assert "Seccomp:\t0" in lines


def test_read_only_root_bind_mount_cwd_env_and_capabilities(
    ctrd: Containerd, runtime: str, tmp_path: Path
) -> None:
    (tmp_path / "f").write_text("data\n")
    result = ctrd.ctr(
        "run", "--rm", "--read-only", "--cwd", "/v", "--env", "GREETING=hi",
        "--mount", f"type=bind,src={tmp_path},dst=/v,options=rbind:ro",
        "--cap-add", "CAP_SYS_ADMIN", "--runc-binary", runtime, IMAGE, _id(),
        "sh", "-c", "pwd; cat f; echo $GREETING; touch /x 2>/dev/null || echo ro-root; "
        "touch /v/g 2>/dev/null || echo ro-bind; grep ^CapEff /proc/self/status",
    )  # fmt: skip
    lines = result.stdout.splitlines()
    assert lines[:5] == ["/v", "data", "hi", "ro-root", "ro-bind"], result.stdout
    assert int(lines[5].split()[1], 16) & (1 << 21)  # CAP_SYS_ADMIN
