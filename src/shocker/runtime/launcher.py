"""Starting a container from the caller's side: fork the supervisor, run on_created at the
right moment, report the start, and in the foreground forward signals and wait.

Process tree: `shocker run` -> supervisor (own session; survives the caller) -> pid 1.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Sequence

from shocker.errors import EXIT_ENGINE, RuntimeFailure, ShockerError
from shocker.leancontext import nullcontext
from shocker.runtime import sync, terminal
from shocker.runtime.pid1 import deliver
from shocker.runtime.signals import Forwarder
from shocker.runtime.supervisor import ExitStatus as ExitStatus
from shocker.runtime.supervisor import supervise
from shocker.runtime.sync import Channel
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    import signal

    from shocker.oci.runtime_spec import Spec
    from shocker.runtime.hostside import HostSide
else:
    import _signal as signal  # signal's C part, without its enums: see shocker.static


def start(
    spec: Spec,
    host: HostSide,
    *,
    detach: bool,
    on_created: Callable[[int], None],
    on_started: Callable[[int, int], None],
    on_exit: Callable[[ExitStatus], None],
    exit_command: Sequence[str] | None = None,
    while_starting: Callable[[], None] | None = None,
) -> int:
    """Start the container `spec` describes (its config.json, in memory), kept as `host`
    says; foreground: relay and return its exit code; detached: return 0 once its command
    runs. A start failure raises RuntimeFailure (125, 126 or 127).

    while_starting() runs in this process right after the fork, while the supervisor makes
    pid 1 and its namespaces (work that would otherwise wait for them, off the critical path).

    on_created(host pid of pid 1) runs in this process while pid 1 waits, namespaces made,
    not yet pivoted (join the cgroup, move a veth in); on_started(pid, supervisor pid) and
    on_exit(status) run in the supervisor.
    """
    assert spec.process is not None
    tty = spec.process.terminal
    terminal_fd = _terminal_fd() if tty and not detach else None
    size = terminal.window_size(terminal_fd) if terminal_fd is not None else None
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # a forked child must not write our buffered output a second time
    forwarder = Forwarder() if not detach else None
    with forwarder.installed() if forwarder else nullcontext():
        mine, theirs = sync.pair()
        # The supervisor inherits our heap and later turns the collector on: its collections
        # would walk (and so copy, page by page) every object made before the fork, none of
        # them garbage. Frozen, they are left out: `run --rm --network none` took 55.6 ms of
        # CPU instead of 63.5 and 1300 fewer page faults (medians of 20 interleaved runs).
        # This process thaws its own at once.
        gc.freeze()
        child = os.fork()
        if child == 0:
            command = tuple(exit_command) if exit_command is not None else None
            _become_supervisor(
                spec, host, theirs, mine, detach, size, terminal_fd, on_started, on_exit, command
            )
        gc.unfreeze()
        theirs.close()
        if while_starting is not None:
            while_starting()
        try:
            if detach:
                os.waitpid(child, 0)  # the intermediate process; the supervisor is orphaned
            pid = _handshake(mine, on_created)
            gc.enable()  # started: the collector was off for the start (shocker.cli.entry)
        except BaseException:
            if not detach:
                wait_child(child)
            raise
        finally:
            mine.close()
        if detach:
            return 0
        assert forwarder is not None
        raw = terminal.raw_mode(0) if tty and host.interactive and os.isatty(0) else nullcontext()
        supervisor = child

        def resize() -> None:
            # The supervisor owns the pty master; it reads our terminal's new size.
            os.kill(supervisor, signal.SIGWINCH)

        with raw:
            forwarder.attach(lambda signum: deliver(pid, signum), resize if tty else None)
            return wait_child(child)


def _become_supervisor(
    spec: Spec,
    host: HostSide,
    channel: Channel,
    other_end: Channel,
    detach: bool,
    size: bytes | None,
    terminal_fd: int | None,
    on_started: Callable[[int, int], None],
    on_exit: Callable[[ExitStatus], None],
    exit_command: tuple[str, ...] | None,
) -> None:
    try:
        other_end.close()
        # Detached: fork once more so the supervisor is nobody's child to reap.
        if detach and os.fork() != 0:
            os._exit(0)
        supervise(
            spec,
            host,
            channel,
            detach=detach,
            size=size,
            terminal_fd=terminal_fd,
            on_started=on_started,
            on_exit=on_exit,
            exit_command=exit_command,
        )
    finally:
        os._exit(EXIT_ENGINE)


def _terminal_fd() -> int | None:
    for fd in (0, 1):
        if os.isatty(fd):
            return fd
    return None


def _handshake(channel: Channel, on_created: Callable[[int], None]) -> int:
    """created -> on_created -> go -> started; the container's host pid."""
    kind, text, _ = sync.receive(channel)
    if kind == sync.CREATED:
        pid = int(text)
        try:
            on_created(pid)
        except BaseException as error:
            sync.send(channel, sync.ABORT, f"on_created: {error}")
            if isinstance(error, ShockerError):
                raise RuntimeFailure(error.message, error.hint, error.exit_code) from error
            raise
        sync.send(channel, sync.GO)
        kind, text, _ = sync.receive(channel)
    if kind == sync.STARTED:
        return int(text)
    if kind == sync.FAIL:
        code, _, message = text.partition(" ")
        raise RuntimeFailure(message, exit_code=int(code))
    raise RuntimeFailure("the container's supervisor exited before the container started")


def wait_child(child: int) -> int:
    _, status = os.waitpid(child, 0)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.waitstatus_to_exitcode(status)
