"""Restart policies (`run --restart`), carried out without a daemon: when pid 1 exits, the
process that records the exit (the container's monitor, through `_finish`) starts the
container again if its policy says so, after Docker's back-off.

Docker's rules (moby restartmanager): `no`; `on-failure[:N]` restarts after a non-zero exit,
at most N times; `always` and `unless-stopped` after any exit. A container that `stop`,
`kill` by the user through `stop`, or `rm -f` ended is never restarted. The delay starts at
100 ms and doubles per restart up to a minute, back to 100 ms once a run lasted 10 s.
"""

from __future__ import annotations

import time

from shocker.errors import ShockerError, UsageError
from shocker.static import TYPE_CHECKING
from shocker.store.container_config import RestartPolicy
from shocker.store.containers import Status

if TYPE_CHECKING:
    from shocker.settings import Settings
    from shocker.store.containers import ContainerRecord
    from shocker.store.store import Store

POLICIES = ("no", "on-failure", "always", "unless-stopped")
FIRST_DELAY_S = 0.1
MAX_DELAY_S = 60.0
RESET_AFTER_S = 10.0
_POLL_S = 0.05


def parse_restart(text: str | None, auto_remove: bool) -> RestartPolicy:
    """`--restart` as Docker validates it; UsageError naming what is wrong."""
    if text is None or text == "no":
        return RestartPolicy()
    name, colon, count = text.partition(":")
    if name not in POLICIES:
        raise UsageError(
            f"invalid restart policy '{text}': use no, on-failure[:N], always or unless-stopped"
        )
    retries = 0
    if colon:
        if name != "on-failure":
            raise UsageError(f"invalid restart policy '{text}': only on-failure takes a count")
        if not count.isdigit():
            raise UsageError(f"invalid restart policy '{text}': the count must be a number")
        retries = int(count)
    if auto_remove and name != "no":
        raise UsageError("conflicting options: --restart and --rm")
    return RestartPolicy(name, retries)


def should_restart(policy: RestartPolicy, exit_code: int, restarts: int, stopped: bool) -> bool:
    if stopped or policy.name == "no":
        return False
    if policy.name == "on-failure":
        if exit_code == 0:
            return False
        return policy.maximum_retries == 0 or restarts < policy.maximum_retries
    return True


def delay_s(restarts: int, ran_s: float) -> float:
    if ran_s >= RESET_AFTER_S:
        return FIRST_DELAY_S
    return min(FIRST_DELAY_S * 2.0**restarts, MAX_DELAY_S)


def restart_if_wanted(store: Store, settings: Settings, container: ContainerRecord) -> None:
    """Called once the exit is recorded: mark the container restarting, wait the back-off
    (giving up as soon as `stop` or `rm` ends the policy), then start it detached."""
    policy = container.config.restart
    code = container.exit_code if container.exit_code is not None else 0
    if not should_restart(policy, code, container.restart_count, container.stopping):
        return
    ran_s = _ran_s(container)
    wait_s = delay_s(container.restart_count, ran_s)

    def mark(r: ContainerRecord) -> None:
        if r.stopping or r.state != Status.EXITED:
            raise _Cancelled
        r.move_to(Status.RESTARTING)
        r.restart_count += 1

    try:
        store.containers.update(container.id, mark)
    except (_Cancelled, ShockerError):
        return
    deadline = time.monotonic() + wait_s
    while True:
        try:
            current = store.containers.get(container.id)
        except ShockerError:
            return  # removed (rm -f)
        if current.stopping or current.state != Status.RESTARTING:
            _settle(store, container.id)
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(min(_POLL_S, max(deadline - time.monotonic(), 0.0)))
    _start_detached(container.id)


def _start_detached(container_id: str) -> None:
    """`shocker start ID` in a process of its own, with none of our descriptors: we (the
    monitor's `_finish`, or a foreground supervisor) hold the container's liveness lock,
    which its new supervisor takes once we are gone. A start that fails is recorded as the
    container's exit, without a restart: it ends the policy."""
    import subprocess
    import sys

    subprocess.Popen(
        [sys.executable, "-m", "shocker", "start", container_id],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


class _Cancelled(Exception):
    pass


def _settle(store: Store, container_id: str) -> None:
    """`stop` ended a pending restart: the container is simply exited."""

    def mark(r: ContainerRecord) -> None:
        if r.state == Status.RESTARTING:
            r.move_to(Status.EXITED)

    try:
        store.containers.update(container_id, mark)
    except ShockerError:
        return


def _ran_s(container: ContainerRecord) -> float:
    """How long the last run lasted (0 when either time is missing)."""
    from datetime import datetime

    if not container.started_at or not container.finished_at:
        return 0.0
    started = datetime.fromisoformat(container.started_at)
    return (datetime.fromisoformat(container.finished_at) - started).total_seconds()
