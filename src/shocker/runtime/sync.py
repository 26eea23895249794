"""Messages between the launcher, the supervisor and the container init.

Each message is one SOCK_SEQPACKET datagram, "kind text", optionally carrying descriptors
(SCM_RIGHTS). The init's end is close-on-exec: end-of-file after "go" means execve worked.
The C module `_socket` is used directly: the `socket` module's enum set-up costs every
`shocker run` about 2 ms, for nothing we need.
"""

from __future__ import annotations

import _socket
import os
import struct
from collections.abc import Callable

from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import NoReturn


Channel = _socket.socket

# The start handshake's messages, every one of them; the same for `run`, `exec` and
# `shocker-runtime create`. In order:
CREATED = "created"  # child -> parent: its namespaces are coming; join the cgroup, attach the
#                      network (the supervisor forwards it to the launcher with the init's pid)
GO = "go"  # parent -> child: carry on
ABORT = "abort"  # parent -> child: give up; the text says why (on_created failed)
PTY = "pty"  # init -> supervisor or console socket: the terminal's master, as SCM_RIGHTS
READY = "ready"  # init -> `shocker-runtime create`: confined, waiting on exec.fifo
STARTED = "started"  # supervisor -> launcher: the command runs; the text is its pid
FAIL = "fail"  # any -> its parent: "CODE MESSAGE", the command never ran
CLOSED = ""  # end of file: the peer exec'd (close-on-exec) or died

_FD = struct.Struct("i")


def pair() -> tuple[Channel, Channel]:
    """Two connected ends; both close-on-exec (Python makes descriptors non-inheritable)."""
    return _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)


def send(channel: Channel, kind: str, text: str = "", fds: tuple[int, ...] = ()) -> None:
    data = f"{kind} {text}".encode(errors="replace")
    if fds:
        payload = b"".join(_FD.pack(fd) for fd in fds)
        channel.sendmsg([data], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, payload)])
    else:
        channel.send(data)


def receive(channel: Channel) -> tuple[str, str, list[int]]:
    """(kind, text, descriptors); kind is "" at end-of-file (the peer closed or exec'd)."""
    try:
        data, ancillary, _, _ = channel.recvmsg(4096, _socket.CMSG_SPACE(_FD.size))
    except (ConnectionResetError, BrokenPipeError):
        return "", "", []
    fds = [
        _FD.unpack_from(payload, offset)[0]
        for level, kind, payload in ancillary
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS
        for offset in range(0, len(payload) - len(payload) % _FD.size, _FD.size)
    ]
    kind, _, text = data.decode(errors="replace").partition(" ")
    return kind, text, fds


def become_or_report(channel: Channel, what: str, become: Callable[[], None]) -> NoReturn:
    """Run `become` (which ends in execve); if it returns or raises, report why on the channel
    and exit with Docker's code: the command never runs half-confined."""
    from shocker.errors import EXIT_ENGINE, RuntimeFailure

    try:
        become()
        code, message = EXIT_ENGINE, f"{what}: the command did not start"
    except RuntimeFailure as failure:
        code, message = failure.exit_code, failure.message
    except BaseException as error:
        code, message = EXIT_ENGINE, f"{what}: {error}"
    try:
        send(channel, FAIL, f"{code} {message}")
    finally:
        os._exit(code)
