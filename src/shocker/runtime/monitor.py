"""The lean watcher of a detached container. Once the container runs, its supervisor execs
a fresh, small interpreter running this module, so a running container costs the host ~3 MB
instead of a private copy of the caller's heap. It writes the output to the log, forwards
SIGTERM, reaps pid 1, then runs the exit command with the exit code and signal appended.

Keep its imports minimal: every one is paid for by every running container.
"""

from __future__ import annotations

# The C module under `signal`, whose Python layer builds its enums with `enum` (and
# functools, collections...): `python -S -I -c "import signal"` takes 11.0 ms of CPU against
# 6.5 for `import _signal` (perf stat -r 40), and every detached container starts a monitor.
import _signal  # type: ignore[import-not-found]  # typeshed has no stub of it
import os
import sys

from shocker.runtime import relay
from shocker.runtime.logfile import ContainerLog
from shocker.runtime.pid1 import deliver

# Not `typing.TYPE_CHECKING`: importing typing (and re with it) costs each monitor ~1 MB.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import NoReturn

_ENGINE_FAILURE = 125
_STARTING_NICENESS = 19


def exit_status(wait_status: int) -> tuple[int, int | None]:
    """(exit code, signal): Docker's 128 + signal for a killed process."""
    if os.WIFSIGNALED(wait_status):
        number = os.WTERMSIG(wait_status)
        return 128 + number, number
    return os.waitstatus_to_exitcode(wait_status), None


def become(
    pid: int, streams: Mapping[int, str], log: ContainerLog, exit_command: Sequence[str]
) -> NoReturn:
    """Replace this process (pid 1's parent, which must stay its parent) by the monitor.

    streams: each output fd and the stream it carries (stdout, stderr)."""
    import signal  # loaded already in this process (the supervisor)

    import shocker

    for fd in streams:
        os.set_inheritable(fd, True)
    source_root = os.path.dirname(os.path.dirname(shocker.__file__))  # noqa: PTH120
    code = (
        f"import sys; sys.path[:0] = [{source_root!r}]; "
        "from shocker.runtime.monitor import main; main()"
    )
    # The signal mask survives execve (signal(7)): a SIGTERM that arrives while the new
    # interpreter starts stays pending until main() has its handler, instead of killing us.
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
    # The new interpreter's start-up (9 ms of CPU) yields to the starts still running: the
    # container runs already, and its output waits in the pipes meanwhile. main() takes the
    # priority back. 50 concurrent `run -d` on the loaded 2-core host: 4.4 s instead of 5.9
    # (medians of 3 interleaved rounds); the monitors use 50 x 9 ms of CPU.
    priority = os.getpriority(os.PRIO_PROCESS, 0)
    os.setpriority(os.PRIO_PROCESS, 0, _STARTING_NICENESS)
    # -S -I: no site packages, no PYTHON* variables; only what the monitor imports.
    os.execv(
        sys.executable,
        [
            sys.executable,
            "-S",
            "-I",
            "-c",
            code,
            str(pid),
            log.describe(),
            ",".join(f"{fd}={stream}" for fd, stream in streams.items()),
            str(priority),
            *exit_command,
        ],
    )


def main() -> NoReturn:
    """sys.argv: -c PID LOG FD=STREAM,... PRIORITY EXIT_COMMAND..."""
    pid, log = int(sys.argv[1]), ContainerLog.from_description(sys.argv[2])
    streams = [item.partition("=") for item in sys.argv[3].split(",") if item]
    priority, exit_command = int(sys.argv[4]), sys.argv[5:]
    code = _ENGINE_FAILURE
    try:
        try:  # noqa: SIM105 (contextlib: 0.9 ms more per monitor)
            os.setpriority(os.PRIO_PROCESS, 0, priority)
        except OSError:
            pass  # only slower output while the host is busy
        _signal.signal(_signal.SIGTERM, lambda signum, _: deliver(pid, signum))
        _signal.pthread_sigmask(_signal.SIG_UNBLOCK, [_signal.SIGTERM])
        pidfd = os.pidfd_open(pid)
        relay.pump({int(fd): log.targets(stream) for fd, _, stream in streams}, {}, pidfd)
        log.flush()
        code, number = exit_status(os.waitpid(pid, 0)[1])
        if exit_command:
            argv = [*exit_command, str(code), str(number or 0)]
            os.waitpid(os.posix_spawnp(argv[0], argv, os.environ), 0)
    finally:
        os._exit(code)
