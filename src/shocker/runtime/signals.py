"""Signals to a container: the ones a foreground `run` forwards, to a process still the one
that started, to pid 1 when its caller dies (pid 1's own rule: shocker.runtime.pid1)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from shocker.leancontext import contextmanager
from shocker.linux.proc import is_alive
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    import signal
else:
    import _signal as signal  # signal's C part, without its enums: see shocker.static

FORWARDED_SIGNALS = (
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
)


def signal_container(pid: int, start_time: int | None, signum: int) -> bool:
    """Send signum as it is to pid if it is still the process that started at start_time;
    False when it is gone (a recycled pid is never signalled)."""
    if not is_alive(pid, start_time):
        return False
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        return False
    return True


class Forwarder:
    """While installed, the caller's signals go to a process; until `attach` names it they
    are kept, so a Ctrl-C during the start is not lost. SIGWINCH calls `resize`."""

    def __init__(self) -> None:
        self._send: Callable[[int], None] | None = None
        self._resize: Callable[[], None] | None = None
        self._pending: list[int] = []
        self._resized = False

    @contextmanager
    def installed(self) -> Iterator[None]:
        numbers = (*FORWARDED_SIGNALS, signal.SIGWINCH)
        saved = {n: signal.signal(n, self._handle) for n in numbers}
        try:
            yield
        finally:
            for number, handler in saved.items():
                signal.signal(number, handler)

    def attach(self, send: Callable[[int], None], resize: Callable[[], None] | None) -> None:
        self._send, self._resize = send, resize
        pending, self._pending = self._pending, []
        for number in pending:
            send(number)
        if self._resized and resize is not None:
            resize()

    def _handle(self, signum: int, _frame: object) -> None:
        if signum == signal.SIGWINCH:
            if self._resize is not None:
                self._resize()
            else:
                self._resized = True
        elif self._send is None:
            self._pending.append(signum)
        else:
            self._send(signum)


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_caller(pid: int, caller_pid: int) -> None:
    """In a supervisor: when the process that launched it dies (even by SIGKILL), kill the
    container's pid 1 so that the supervisor reaps it and runs its exit callback (a build
    step must not outlive the build). SIGHUP carries the news: supervisors ignore it else."""
    from shocker.linux.syscalls import prctl

    def kill(_signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return

    signal.signal(signal.SIGHUP, kill)
    prctl(PR_SET_PDEATHSIG, signal.SIGHUP)
    if os.getppid() != caller_pid:
        kill(signal.SIGHUP, None)  # it died before the request took hold
