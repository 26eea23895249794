"""Messages between the launcher, the supervisor and the container init.

Each message is one SOCK_SEQPACKET datagram, "kind text", optionally carrying descriptors
(SCM_RIGHTS). The init's end is close-on-exec: end-of-file after "go" means execve worked.
"""

from __future__ import annotations

import socket


def pair() -> tuple[socket.socket, socket.socket]:
    """Two connected ends; both close-on-exec."""
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)


def send(sock: socket.socket, kind: str, text: str = "", fds: tuple[int, ...] = ()) -> None:
    data = f"{kind} {text}".encode(errors="replace")
    if fds:
        socket.send_fds(sock, [data], list(fds))
    else:
        sock.send(data)


def receive(sock: socket.socket) -> tuple[str, str, list[int]]:
    """(kind, text, descriptors); kind is "" at end-of-file (the peer closed or exec'd)."""
    try:
        data, fds, _, _ = socket.recv_fds(sock, 4096, 1)
    except (ConnectionResetError, BrokenPipeError):
        return "", "", []
    kind, _, text = data.decode(errors="replace").partition(" ")
    return kind, text, fds
