"""The runtime's command line on a bundle from `runc spec`, as containerd's shim uses it;
each test runs against shocker-runtime and runc."""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PR_SET_CHILD_SUBREAPER = 36


def _run(runtime: str, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Output through files, not pipes: the container's init inherits the runtime's stdio
    (as under containerd), so a pipe would stay open as long as the container runs."""
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        result = subprocess.run(
            [runtime, "--root", str(root), *args],
            stdin=subprocess.DEVNULL, stdout=out, stderr=err, timeout=60, check=False,
        )  # fmt: skip
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(result.args, result.returncode, out.read(), err.read())


def _configure(bundle: Path, **process: object) -> None:
    config = json.loads((bundle / "config.json").read_text())
    config["process"].update(process)
    (bundle / "config.json").write_text(json.dumps(config))


def _state(runtime: str, root: Path, cid: str) -> dict[str, object]:
    result = _run(runtime, root, "state", cid)
    assert result.returncode == 0, result.stderr
    state: dict[str, object] = json.loads(result.stdout)
    return state


@pytest.fixture
def subreaper() -> Iterator[None]:
    """Be what containerd's shim is: the init, orphaned by `create`, becomes our child.
    Only for the test: a later test's orphans (a detached container's supervisor) must go
    to init, which reaps them, not to this process, which would leave them zombies."""
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    try:
        yield
    finally:
        assert libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) == 0


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        return


def test_lifecycle(runtime: str, bundle: Path, tmp_path: Path, subreaper: None) -> None:
    root, cid, pid_file = tmp_path / "state", "c" + secrets.token_hex(3), tmp_path / "pid"
    marker = bundle / "rootfs" / "started"
    _configure(bundle, args=["sh", "-c", "touch /started; exec sleep 60"])
    created = _run(
        runtime, root, "create", "--bundle", str(bundle), "--pid-file", str(pid_file), cid
    )
    assert created.returncode == 0, created.stderr
    pid = int(pid_file.read_text())
    try:
        state = _state(runtime, root, cid)
        assert state["status"] == "created" and state["pid"] == pid and state["id"] == cid
        assert state["bundle"] == str(bundle) and state["ociVersion"]
        # A descendant of the caller, and the user's process has not run yet.
        assert (
            int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1]) == os.getpid()
        )
        assert not marker.exists()
        assert _run(runtime, root, "start", cid).returncode == 0
        for _ in range(200):
            if marker.exists():
                break
            time.sleep(0.01)
        assert marker.exists()
        assert _state(runtime, root, cid)["status"] == "running"
        ps = _run(runtime, root, "ps", "--format", "json", cid)
        assert pid in json.loads(ps.stdout)
        refused = _run(runtime, root, "delete", cid)
        assert refused.returncode != 0
        assert _run(runtime, root, "kill", cid, "KILL").returncode == 0
        _reap(pid)
        assert _state(runtime, root, cid)["status"] == "stopped"
        killed = _run(runtime, root, "kill", cid, "KILL")
        assert killed.returncode != 0 and "not running" in killed.stderr
        assert _run(runtime, root, "delete", cid).returncode == 0
        gone = _run(runtime, root, "state", cid)
        assert gone.returncode != 0 and "does not exist" in gone.stderr
    finally:
        _run(runtime, root, "delete", "--force", cid)
        _reap(pid)


def test_exec_and_force_delete(runtime: str, bundle: Path, tmp_path: Path, subreaper: None) -> None:
    root, cid = tmp_path / "state", "c" + secrets.token_hex(3)
    assert _run(runtime, root, "create", "--bundle", str(bundle), cid).returncode == 0
    pid = int(_state(runtime, root, cid)["pid"])  # type: ignore[call-overload]
    try:
        assert _run(runtime, root, "start", cid).returncode == 0
        process = json.loads((bundle / "config.json").read_text())["process"]
        process["args"] = ["sh", "-c", "echo from exec $(cat /proc/1/comm); exit 7"]
        (tmp_path / "process.json").write_text(json.dumps(process))
        result = _run(runtime, root, "exec", "--process", str(tmp_path / "process.json"), cid)
        assert (result.returncode, result.stdout) == (7, "from exec sleep\n"), result.stderr
        assert _run(runtime, root, "delete", "--force", cid).returncode == 0
        assert _run(runtime, root, "state", cid).returncode != 0
    finally:
        _run(runtime, root, "delete", "--force", cid)
        _reap(pid)


def test_errors_go_to_the_log_as_json(runtime: str, tmp_path: Path) -> None:
    log = tmp_path / "log.json"
    result = subprocess.run(
        [runtime, "--root", str(tmp_path / "state"), "--log", str(log), "--log-format", "json",
         "kill", "nosuchcontainer", "KILL"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    errors = [e for e in entries if e.get("level") == "error"]
    assert errors and "does not exist" in errors[-1]["msg"]


def test_force_delete_of_what_is_gone_succeeds(runtime: str, tmp_path: Path) -> None:
    """containerd's shim deletes with --force after the plain delete: it must not fail."""
    root = tmp_path / "state"
    assert _run(runtime, root, "delete", "--force", "nosuchcontainer").returncode == 0
    plain = _run(runtime, root, "delete", "nosuchcontainer")
    assert plain.returncode != 0 and "does not exist" in plain.stderr


def test_features(runtime: str) -> None:
    result = subprocess.run([runtime, "features"], capture_output=True, text=True, timeout=60)
    if runtime.endswith("runc") and result.returncode != 0:
        pytest.skip("this runc predates `features`")
    document = json.loads(result.stdout)
    assert document["ociVersionMin"].startswith("1.") and document["ociVersionMax"]


def test_signal_reaches_the_init(
    runtime: str, bundle: Path, tmp_path: Path, subreaper: None
) -> None:
    root, cid = tmp_path / "state", "c" + secrets.token_hex(3)
    _configure(bundle, args=["sh", "-c", "trap 'exit 42' TERM; while true; do sleep 0.05; done"])
    assert _run(runtime, root, "create", "--bundle", str(bundle), cid).returncode == 0
    pid = int(_state(runtime, root, cid)["pid"])  # type: ignore[call-overload]
    try:
        assert _run(runtime, root, "start", cid).returncode == 0
        time.sleep(0.3)
        assert _run(runtime, root, "kill", cid, "TERM").returncode == 0
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 42
    finally:
        _run(runtime, root, "delete", "--force", cid)
        _reap(pid)


def _written(path: Path) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = path.read_text().strip() if path.exists() else ""
        if text:
            return text
        time.sleep(0.05)
    raise AssertionError(f"{path} was not written")


def test_kill_all_reaches_what_outlives_the_init(
    runtime: str, bundle: Path, tmp_path: Path, subreaper: None
) -> None:
    """Without a pid namespace of its own, a container's processes outlive its init:
    containerd then sends `kill --all ID KILL` to the stopped container, which must reach them."""
    config = json.loads((bundle / "config.json").read_text())
    namespaces = config["linux"]["namespaces"]
    config["linux"]["namespaces"] = [n for n in namespaces if n["type"] != "pid"]
    config["process"]["args"] = ["sh", "-c", "sleep 300 & echo $! > /child; exit 0"]
    (bundle / "config.json").write_text(json.dumps(config))
    root, cid = tmp_path / "state", "c" + secrets.token_hex(3)
    assert _run(runtime, root, "create", "--bundle", str(bundle), cid).returncode == 0
    pid = int(_state(runtime, root, cid)["pid"])  # type: ignore[call-overload]
    try:
        assert _run(runtime, root, "start", cid).returncode == 0
        _reap(pid)
        child = int(_written(bundle / "rootfs" / "child"))
        assert _state(runtime, root, cid)["status"] == "stopped"
        killed = _run(runtime, root, "kill", "--all", cid, "KILL")
        assert killed.returncode == 0, killed.stderr
        _, status = os.waitpid(child, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == 9
    finally:
        _run(runtime, root, "delete", "--force", cid)


def test_exec_without_capabilities_gets_the_containers(
    runtime: str, bundle: Path, tmp_path: Path, subreaper: None
) -> None:
    root, cid = tmp_path / "state", "c" + secrets.token_hex(3)
    assert _run(runtime, root, "create", "--bundle", str(bundle), cid).returncode == 0
    pid = int(_state(runtime, root, cid)["pid"])  # type: ignore[call-overload]
    try:
        assert _run(runtime, root, "start", cid).returncode == 0
        process = json.loads((bundle / "config.json").read_text())["process"]
        del process["capabilities"]
        process["args"] = ["sh", "-c", "grep CapEff /proc/1/status /proc/self/status"]
        (tmp_path / "process.json").write_text(json.dumps(process))
        result = _run(runtime, root, "exec", "--process", str(tmp_path / "process.json"), cid)
        assert result.returncode == 0, result.stderr
        init, own = (line.split()[-1] for line in result.stdout.splitlines())
        assert own == init != "0" * 16
    finally:
        _run(runtime, root, "delete", "--force", cid)
        _reap(pid)


def test_sigkill_ends_a_paused_container(
    runtime: str, bundle: Path, tmp_path: Path, subreaper: None
) -> None:
    root, cid = tmp_path / "state", "c" + secrets.token_hex(3)
    assert _run(runtime, root, "create", "--bundle", str(bundle), cid).returncode == 0
    pid = int(_state(runtime, root, cid)["pid"])  # type: ignore[call-overload]
    try:
        assert _run(runtime, root, "start", cid).returncode == 0
        assert _run(runtime, root, "pause", cid).returncode == 0
        assert _run(runtime, root, "kill", cid, "KILL").returncode == 0
        deadline = time.monotonic() + 10
        while (found := os.waitpid(pid, os.WNOHANG))[0] == 0:  # frozen: it would never end
            assert time.monotonic() < deadline, "the paused init did not die of SIGKILL"
            time.sleep(0.05)
        assert os.WIFSIGNALED(found[1]) and os.WTERMSIG(found[1]) == 9
        assert _state(runtime, root, cid)["status"] == "stopped"
    finally:
        _run(runtime, root, "delete", "--force", cid)
        _reap(pid)
