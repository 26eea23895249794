"""Signals to a container's pid 1, and the rule the kernel keeps for it.

Apart from shocker.runtime.signals so that the monitor of a detached container (see
shocker.runtime.monitor) can send them without importing the `signal` module.
"""

from __future__ import annotations

import os

from shocker.linux.proc import caught_signals

# signal(7): the same numbers on every Linux architecture.
SIGINT = 2
SIGKILL = 9
SIGTERM = 15


def deliver(pid: int, signum: int) -> None:
    """Send signum to a container's pid 1 (a host pid); nothing if it is gone.

    pid 1 of a pid namespace only receives the signals it has a handler for
    (pid_namespaces(7)), so `sleep` or a plain shell as pid 1 would ignore Ctrl-C and
    SIGTERM and the container could not be stopped from its terminal. Users expect "Ctrl-C
    stops it" (Docker with --init behaves so): when pid 1 catches neither, SIGKILL instead.
    """
    if signum in (SIGINT, SIGTERM) and not caught_signals(pid) & (1 << (signum - 1)):
        signum = SIGKILL
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        return
