"""Is a process alive: /proc parsing (still the same process, which signals it catches), and
the liveness locks a supervisor holds, which hold across pid namespaces."""

from __future__ import annotations

import os


def _stat_fields(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat; the command name (field 2) may hold spaces and ')'."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    return raw[raw.rfind(b")") + 2 :].decode().split()


def process_start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (clock ticks after boot); None when there is no such pid."""
    fields = _stat_fields(pid)
    if fields is None or len(fields) < 20:
        return None
    return int(fields[19])


def is_alive(pid: int, start_time: int | None) -> bool:
    """The pid runs (a zombie does not count) and, when start_time is given, is the same
    process that had that start time (a recycled pid is another process)."""
    fields = _stat_fields(pid)
    if fields is None or len(fields) < 20 or fields[0] in ("Z", "X", "x"):
        return False
    return start_time is None or int(fields[19]) == start_time


def lock_held(path: str) -> bool | None:
    """Whether another process holds an flock on `path` (None: there is no such file).

    Probes with a shared lock, so that probes never block each other; the holder's
    exclusive lock refuses it."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def hold_lock(path: str) -> int:
    """An exclusive flock on `path` (created), waiting for an earlier holder to let go; the
    descriptor holds it (close-on-exec: pass it on with os.set_inheritable)."""
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def caught_signals(pid: int) -> int:
    """Signals pid takes (bit n-1 set for signal n): those with a handler (SigCgt) and
    those it blocks (SigBlk), which the kernel queues even for a namespace's init, as for
    an init that waits for them with sigtimedwait (tini); 0 if gone."""
    mask = 0
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith((b"SigCgt:", b"SigBlk:")):
                    mask |= int(line.split()[1], 16)
    except OSError:
        return 0
    return mask


def net_dev_bytes(text: str) -> tuple[int, int]:
    """(received, sent) bytes over every interface but lo, from /proc/PID/net/dev (which
    shows the network namespace of PID)."""
    received = sent = 0
    for line in text.splitlines()[2:]:
        name, _, counters = line.partition(":")
        fields = counters.split()
        if name.strip() == "lo" or len(fields) < 9:
            continue
        received += int(fields[0])
        sent += int(fields[8])
    return received, sent
