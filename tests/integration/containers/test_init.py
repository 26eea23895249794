"""`run --init`: a minimal init as pid 1 that reaps orphans and forwards signals, run from
a sealed copy so that no container process sees a host binary as its exe."""

from __future__ import annotations

from collections.abc import Callable

from tests.integration.containers.conftest import wait_until
from tests.support.shocker import Shocker

# An orphan: the subshell exits at once, its sleep is re-parented to pid 1 and exits later;
# then the command becomes `sleep`, which reaps nothing.
ORPHAN = "(sleep 0.2 &); exec sleep 60"
ZOMBIES = ("sh", "-c", "grep -l '^State:.*Z' /proc/[0-9]*/status; true")


def test_init_is_pid_1_from_a_sealed_copy(
    shocker: Shocker, busybox_id: str, containers: list[str]
) -> None:
    result = shocker(
        "run", "--name", "with-init", "--init", busybox_id,
        "sh", "-c", "readlink /proc/1/exe; tr '\\0' ' ' < /proc/1/cmdline; echo;"
        " readlink /proc/self/exe",
    )  # fmt: skip
    containers.append("with-init")
    lines = result.check().lines
    assert lines[0] == "/memfd:shocker-init (deleted)"
    assert lines[1].startswith("tini -- sh -c readlink")
    assert lines[2] == "/bin/busybox"  # the command itself is the container's own file


def test_init_reaps_orphans_that_a_plain_pid_1_leaves_as_zombies(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    with_init = run_detached("--init", busybox_id, "sh", "-c", ORPHAN)
    without = run_detached(busybox_id, "sh", "-c", ORPHAN)

    def zombies(container_id: str) -> list[str]:
        return shocker("exec", container_id, *ZOMBIES).check().lines

    # The control first: without an init the orphan stays a zombie.
    assert wait_until(lambda: len(zombies(without)) == 1, 10)
    assert zombies(with_init) == []


def test_init_forwards_signals_to_the_command(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    script = (
        "trap 'echo got-usr1' USR1; trap 'echo got-term; exit 7' TERM;"
        " echo ready; while true; do sleep 0.1; done"
    )
    container_id = run_detached("--init", busybox_id, "sh", "-c", script)
    assert wait_until(lambda: "ready" in shocker("logs", container_id).out)
    shocker("kill", "-s", "USR1", container_id).check()
    assert wait_until(lambda: "got-usr1" in shocker("logs", container_id).out)
    shocker("stop", "-t", "20", container_id).check()
    assert "got-term" in shocker("logs", container_id).check().out
    assert shocker("wait", container_id).check().out.strip() == "7"


def test_init_with_another_oci_runtime_is_a_usage_error(shocker: Shocker, busybox_id: str) -> None:
    before = shocker("ps", "-q").check().lines
    result = shocker("run", "--init", "--runtime", "runc", busybox_id, "true")
    assert result.rc == 125 and "--init" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert shocker("ps", "-q").check().lines == before
