"""What every container process needs around its confinement (runtime/sequence.py runs
the steps): default signals, no leaked descriptors, its identity, and the execve itself.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from shocker.errors import EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, RuntimeFailure
from shocker.linux import sealedexec
from shocker.runtime.command import DEFAULT_PATH
from shocker.runtime.failure import step
from shocker.runtime.users import Identity, resolve_user
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    import signal
    from typing import NoReturn
else:
    import _signal as signal  # signal's C part, without its enums: see shocker.static


def reset_signals() -> None:
    """Default dispositions and an empty mask: Python ignores SIGPIPE and installs handlers,
    and ignored signals survive execve (signal(7)), which would change the command."""
    for number in range(1, signal.NSIG):
        if number in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(number, signal.SIG_DFL)
        except (OSError, ValueError):
            continue
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def close_other_fds_on_exec() -> None:
    """Mark every descriptor above stderr close-on-exec: nothing of the runtime (sync
    sockets, the caller's files) leaks into the container; runc does the same."""
    for entry in Path("/proc/self/fd").iterdir():
        fd = int(entry.name)
        if fd > 2:
            try:
                os.set_inheritable(fd, False)
            except OSError:
                continue


def read_identity(user: str) -> Identity:
    """Resolve `user` with the /etc/passwd and /etc/group of the current root."""
    return resolve_user(user, _read("/etc/passwd"), _read("/etc/group"))


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def execute(
    argv: tuple[str, ...],
    env: list[str],
    cwd: str,
    trampoline: int,
    init_program: int = -1,
) -> NoReturn:
    """chdir, then execve argv[0], searched in the PATH of `env` when it has no slash, through
    the sealed trampoline from sealedexec.prepare(). With init_program (a sealed memfd of
    tini, `run --init`), that init is executed instead, as pid 1, and it runs argv as its
    child.

    Raises RuntimeFailure 127 when not found, 126 when found but not executable."""
    with step(f"chdir to {cwd}"):
        os.chdir(cwd)
    name = argv[0]
    path = find_executable(name, env)
    if init_program >= 0:
        try:
            os.execve(init_program, ["tini", "--", *argv], _as_mapping(env))
        except OSError as error:
            raise RuntimeFailure(
                f"exec: the init: {error.strerror}", exit_code=EXIT_NOT_EXECUTABLE
            ) from None
    try:
        sealedexec.execve(
            trampoline,
            path,
            list(argv),
            _as_mapping(env),
            missing=f"exec: {name}: no such file or directory",
            # What remains once the checks below pass: mostly a binary for another machine.
            failed=f"exec: {name}: exec format error",
        )
    except OSError as error:
        raise RuntimeFailure(
            f"exec: {name}: {error.strerror}", exit_code=EXIT_NOT_EXECUTABLE
        ) from None


def find_executable(name: str, env: list[str]) -> str:
    """The path execvp(3) would run.

    The checks execve itself would make, done first, because after the trampoline's
    execve the only report left is a line on stderr."""
    if "/" in name:
        candidates = [name]
    else:
        path = next((e[5:] for e in env if e.startswith("PATH=")), DEFAULT_PATH)
        candidates = [f"{d or '.'}/{name}" for d in path.split(":")]
    denied: OSError | None = None
    for candidate in candidates:
        error = _refusal(candidate)
        if error is None:
            return candidate
        if error.errno in (errno.ENOENT, errno.ENOTDIR) and "/" not in name:
            continue
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            raise RuntimeFailure(
                f"exec: {name}: no such file or directory", exit_code=EXIT_NOT_FOUND
            ) from None
        denied = denied or error
        if "/" in name or error.errno not in (errno.EACCES, errno.EPERM):
            break
    if denied is not None:
        raise RuntimeFailure(
            f"exec: {name}: {denied.strerror.lower() if denied.strerror else denied}",
            exit_code=EXIT_NOT_EXECUTABLE,
        )
    raise RuntimeFailure(
        f'exec: "{name}": executable file not found in $PATH', exit_code=EXIT_NOT_FOUND
    )


def _refusal(candidate: str) -> OSError | None:
    """Why execve(2) would refuse `candidate` before reading it, if it would."""
    try:
        info = Path(candidate).stat()
    except OSError as error:
        return error
    # access(2) X_OK also refuses files on noexec mounts, as execve does.
    if not stat.S_ISREG(info.st_mode) or not os.access(candidate, os.X_OK):
        return OSError(errno.EACCES, os.strerror(errno.EACCES), candidate)
    return None


def _as_mapping(env: list[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in env:
        key, _, value = item.partition("=")
        result[key] = value
    return result
