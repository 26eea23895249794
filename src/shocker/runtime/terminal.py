"""Pseudo-terminals for `-t`: a pty from the container's own devpts, window sizes, the
controlling terminal, and raw mode on the caller's terminal (always restored)."""

from __future__ import annotations

import fcntl
import os
import struct
import termios
from collections.abc import Iterator

from shocker.leancontext import contextmanager

# ioctl_tty(2), <asm-generic/ioctls.h>
_TIOCGPTN = 0x80045430
_TIOCSPTLCK = 0x40045431


def window_size(fd: int) -> bytes | None:
    """The struct winsize of terminal fd, or None if fd is not a terminal."""
    try:
        return fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
    except OSError:
        return None


def set_window_size(fd: int, size: bytes | None) -> None:
    if size is not None:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, size)


def open_pty() -> tuple[int, int, str]:
    """(master, slave, slave path) from /dev/pts/ptmx of the current root: inside a
    container that is its own devpts instance, so the pty is /dev/pts/N in there too."""
    master = os.open("/dev/pts/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    fcntl.ioctl(master, _TIOCSPTLCK, struct.pack("i", 0))
    number = struct.unpack("I", fcntl.ioctl(master, _TIOCGPTN, b"\0" * 4))[0]
    path = f"/dev/pts/{number}"
    slave = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    return master, slave, path


def make_controlling_terminal(slave: int) -> None:
    """New session with slave as its controlling terminal and as stdin/stdout/stderr."""
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for target in (0, 1, 2):
        os.dup2(slave, target)
    if slave > 2:
        os.close(slave)


@contextmanager
def raw_mode(fd: int) -> Iterator[None]:
    """The caller's terminal in raw mode for the block; its settings come back after."""
    import tty

    try:
        saved = termios.tcgetattr(fd)
    except termios.error:
        yield
        return
    tty.setraw(fd, termios.TCSANOW)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
