"""`run --runtime runc|crun|PATH`: the engine's bundle run by another OCI runtime, with
the same confinement lines, network, volumes, logs, exec and exit codes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.assertions import assert_one_line_error
from tests.support.prereqs import require
from tests.support.shocker import Shocker

STATUS = "grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status"


@pytest.fixture
def other_runtime() -> str:
    require(shutil.which("runc") is not None, "runc (apt-get install runc)")
    return "runc"


def test_same_confinement_and_exit_code(
    shocker: Shocker, busybox_id: str, other_runtime: str
) -> None:
    ours = shocker("run", "--rm", busybox_id, "sh", "-c", STATUS).check().out
    theirs = shocker("run", "--rm", "--runtime", other_runtime, busybox_id, "sh", "-c", STATUS)
    assert theirs.check().out == ours
    code = shocker("run", "--rm", "--runtime", other_runtime, busybox_id, "sh", "-c", "exit 7")
    assert code.rc == 7


def test_privileged_is_the_same_under_another_runtime(
    shocker: Shocker, busybox_id: str, other_runtime: str
) -> None:
    """Every capability the engine holds, and a device cgroup that allows every node."""
    script = f"{STATUS}; cat /sys/fs/cgroup/devices/devices.list"
    ours = shocker("run", "--rm", "--privileged", busybox_id, "sh", "-c", script).check().out
    theirs = shocker(
        "run", "--rm", "--privileged", "--runtime", other_runtime, busybox_id, "sh", "-c", script
    )  # fmt: skip
    assert theirs.check().out == ours
    assert ours.endswith("Seccomp:\t0\na *:* rwm\n")


@pytest.mark.parametrize(("command", "code"), [("nonexistent", 127), ("/etc/passwd", 126)])
def test_a_command_that_cannot_run_exits_as_under_the_default(
    shocker: Shocker, busybox_id: str, other_runtime: str, command: str, code: int
) -> None:
    ours = shocker("run", "--rm", busybox_id, command)
    theirs = shocker("run", "--rm", "--runtime", other_runtime, busybox_id, command)
    assert (ours.rc, theirs.rc) == (code, code), (str(ours), str(theirs))
    assert_one_line_error(theirs, command)


def test_detached_logs_exec_stop_and_network(
    shocker: Shocker, busybox_id: str, other_runtime: str, tmp_path: Path
) -> None:
    (tmp_path / "data").write_text("from the host\n")
    started = shocker(
        "run", "-d", "--runtime", other_runtime, "-v", f"{tmp_path}:/srv", busybox_id,
        "sh", "-c", "cat /srv/data; ip -4 addr show eth0 | grep -c inet; exec sleep 60",
    )  # fmt: skip
    container = started.check().lines[-1]
    try:
        ps = shocker("ps").check().out
        assert container in ps and "Up" in ps
        assert shocker("exec", container, "cat", "/proc/1/comm").check().out == "sleep\n"
        shocker("stop", "-t", "1", container).check()
        assert shocker("logs", container).check().out == "from the host\n1\n"
        inspected = shocker("inspect", "--format", "{{.State.Status}}", container)
        assert "exited" in inspected.out or inspected.rc != 0
    finally:
        shocker("rm", "-f", container)
    assert not (shocker.root / ".shocker" / "containers" / container).exists()


def test_environment_sets_the_default(shocker: Shocker, busybox_id: str) -> None:
    require(shutil.which("runc") is not None, "runc")
    with_runc = shocker.with_env(SHOCKER_RUNTIME="runc")
    container = with_runc("run", "-d", busybox_id, "sleep", "30").check().lines[-1]
    try:
        # runc keeps its state beside the container's bundle.
        assert (shocker.root / ".shocker" / "containers" / container / "runtime").is_dir()
        assert (shocker.root / ".shocker" / "containers" / container / "config.json").exists()
    finally:
        shocker("rm", "-f", container).check()


@pytest.mark.parametrize("name", ["no-such-runtime", "/nonexistent/runc"])
def test_unknown_runtime_is_one_line_and_no_container(
    shocker: Shocker, busybox_id: str, name: str
) -> None:
    before = shocker("ps", "-a", "-q").check().out
    result = shocker("run", "--runtime", name, busybox_id, "true")
    assert result.rc == 125
    assert_one_line_error(result, name)
    assert shocker("ps", "-a", "-q").check().out == before


def test_crun_runs_it_or_says_why_in_one_line(shocker: Shocker, busybox_id: str) -> None:
    """crun 1.8 refuses hosts whose cgroup2 mount holds a controller beside v1 ("hybrid
    mode"), whatever the bundle; there its reason is the one line, and nothing is left."""
    require(shutil.which("crun") is not None, "crun (apt-get install crun)")
    before = shocker("ps", "-a", "-q").check().out
    result = shocker("run", "--rm", "--runtime", "crun", busybox_id, "sh", "-c", STATUS)
    if _crun_refuses_this_host():
        assert result.rc == 125
        assert_one_line_error(result, "hybrid mode")
    else:
        assert result.check().out == shocker("run", "--rm", busybox_id, "sh", "-c", STATUS).out
    assert shocker("ps", "-a", "-q").check().out == before


def _crun_refuses_this_host() -> bool:
    unified = Path("/sys/fs/cgroup/unified/cgroup.controllers")
    return unified.exists() and bool(unified.read_text().split())
