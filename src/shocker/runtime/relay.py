"""Moving bytes: container output to the log (and the caller's terminal), the caller's
input to the container, until the container's pid 1 exits."""

from __future__ import annotations

import errno
import os
import select

# Not `typing.TYPE_CHECKING`: the monitor imports this module and must not import typing.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from shocker.runtime.logfile import LineSink

    Target = int | LineSink

_CHUNK = 65536
_READ_END = (errno.EIO, errno.EBADF)  # a pty master reads EIO once every slave is closed


def _write_all(fd: int, data: bytes) -> bool:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except OSError:
            return False
        view = view[written:]
    return True


def _forward(source: int, targets: list[Target]) -> bool:
    """One read from source to every target (an fd, or a log's line sink); False at end
    of input. A target that fails (the caller went away: EPIPE) is dropped; the others go on."""
    try:
        data = os.read(source, _CHUNK)
    except BlockingIOError:
        return True
    except OSError as error:
        if error.errno in _READ_END:
            return False
        raise
    if not data:
        return False
    for target in list(targets):
        written = _write_all(target, data) if isinstance(target, int) else target.write(data)
        if not written:
            targets.remove(target)
    return True


def pump(outputs: dict[int, list[Target]], inputs: dict[int, list[Target]], exit_fd: int) -> None:
    """Relay until exit_fd (a pidfd) is readable, then drain what the outputs still hold.

    outputs/inputs: source fd -> target fds. Inputs are not drained: once the container
    is gone, the caller's remaining input is not ours to consume."""
    poller = select.poll()
    routes = {**inputs, **outputs}
    for fd in routes:
        poller.register(fd, select.POLLIN)
    poller.register(exit_fd, select.POLLIN)
    while True:
        for fd, _ in poller.poll():
            if fd == exit_fd:
                drain(outputs)
                return
            if fd in routes and not _forward(fd, routes[fd]):
                poller.unregister(fd)
                del routes[fd]


def drain(outputs: dict[int, list[Target]]) -> None:
    """Read every output until it is empty, without waiting for more."""
    for source, targets in outputs.items():
        os.set_blocking(source, False)
        while _forward(source, targets):
            try:
                if not select.select([source], [], [], 0)[0]:
                    break
            except OSError:
                break
