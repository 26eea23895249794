"""/proc parsing: start times and liveness that guards against pid reuse."""

from __future__ import annotations

import os
import signal

from shocker.linux.proc import caught_signals, is_alive, process_start_time


def test_own_process_is_alive_with_its_start_time() -> None:
    start = process_start_time(os.getpid())
    assert start is not None
    assert is_alive(os.getpid(), start)
    assert is_alive(os.getpid(), None)


def test_a_different_start_time_means_a_different_process() -> None:
    start = process_start_time(os.getpid())
    assert start is not None
    assert not is_alive(os.getpid(), start + 1)


def test_a_zombie_is_not_alive() -> None:
    child = os.fork()
    if child == 0:
        os._exit(0)
    try:
        # Until reaped the child is a zombie; wait for the state without reaping it.
        os.waitid(os.P_PID, child, os.WEXITED | os.WNOWAIT)
        assert not is_alive(child, None)
    finally:
        os.waitpid(child, 0)
    assert process_start_time(child) is None


def test_caught_signals_lists_python_handlers() -> None:
    previous = signal.signal(signal.SIGUSR1, lambda *_: None)
    try:
        assert caught_signals(os.getpid()) & (1 << (signal.SIGUSR1 - 1))
    finally:
        signal.signal(signal.SIGUSR1, previous)
