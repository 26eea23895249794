"""The per-container supervisor: creates the pid namespace and pid 1, holds the log and
the container's output, reports the start to the launcher, reaps pid 1, calls on_exit.

It runs in its own session so it outlives the `shocker run` that forked it.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable

from shocker.errors import EXIT_ENGINE, RuntimeFailure
from shocker.leancontext import suppress
from shocker.linux import syscalls
from shocker.linux.proc import hold_lock
from shocker.record import record
from shocker.runtime import init, monitor, relay, sync, terminal
from shocker.runtime.failure import step
from shocker.runtime.logfile import ContainerLog
from shocker.runtime.namespaces import new_user_namespace
from shocker.runtime.pid1 import deliver
from shocker.runtime.sync import Channel
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    import signal
    from typing import NoReturn

    from shocker.oci.runtime_spec import Spec
    from shocker.runtime.foreign import ForeignRuntime
    from shocker.runtime.hostside import HostSide
else:
    import _signal as signal  # signal's C part, without its enums: see shocker.static


@record(frozen=True)
class ExitStatus:
    exit_code: int  # 128 + signal when pid 1 was killed
    signal: int | None


# Job-control and terminal signals mean nothing to a process without a terminal; a stray
# SIGHUP or SIGINT must not orphan a running container.
_IGNORED = (
    signal.SIGHUP,
    signal.SIGINT,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
    signal.SIGTSTP,
    signal.SIGTTIN,
    signal.SIGTTOU,
)


class _Abandoned(Exception):
    """The launcher stopped the start (on_created failed); it reports the failure."""


@record()
class _Container:
    pid: int
    pidfd: int
    channel: Channel
    outputs: dict[int, list[relay.Target]]
    inputs: dict[int, list[relay.Target]]
    log: ContainerLog
    streams: dict[int, str]  # output fd -> "stdout" | "stderr"
    master: int | None = None


def supervise(
    spec: Spec,
    host: HostSide,
    launcher: Channel,
    *,
    detach: bool,
    size: bytes | None,
    terminal_fd: int | None,
    on_started: Callable[[int, int], None],
    on_exit: Callable[[ExitStatus], None],
    exit_command: tuple[str, ...] | None = None,
) -> NoReturn:
    """Run the container to its end and exit with its code (never returns)."""
    code = EXIT_ENGINE
    try:
        code = _supervise(
            spec, host, launcher, detach, size, terminal_fd, on_started, on_exit, exit_command
        )
    finally:
        os._exit(code)


def _supervise(
    spec: Spec,
    host: HostSide,
    launcher: Channel,
    detach: bool,
    size: bytes | None,
    terminal_fd: int | None,
    on_started: Callable[[int, int], None],
    on_exit: Callable[[ExitStatus], None],
    exit_command: tuple[str, ...] | None,
) -> int:
    os.setsid()
    for number in _IGNORED:
        signal.signal(number, signal.SIG_IGN)
    for number in (signal.SIGTERM, signal.SIGWINCH):
        signal.signal(number, signal.SIG_DFL)
    devnull = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
    if detach:
        # The caller may be capturing our output through a pipe: holding it would hang it.
        for target in (0, 1, 2):
            os.dup2(devnull, target)
    try:
        container = _create(spec, host, launcher, detach, size, devnull)
    except _Abandoned:
        return EXIT_ENGINE  # the launcher failed the start itself and records the outcome
    except RuntimeFailure as failure:
        if not _tell(launcher, sync.FAIL, f"{failure.exit_code} {failure.message}"):
            _finish(on_exit, ExitStatus(failure.exit_code, None))
        return failure.exit_code
    try:
        # Held until this process, or the monitor and `_finish` it becomes, is gone.
        lock = hold_lock(str(host.liveness_lock)) if host.liveness_lock else None
        on_started(container.pid, os.getpid())
    except Exception as error:
        _kill(container)
        _tell(launcher, sync.FAIL, f"{EXIT_ENGINE} on_started: {error}")
        return EXIT_ENGINE
    _tell(launcher, sync.STARTED, str(container.pid))
    launcher.close()
    gc.enable()  # started: the collector was off for the start (shocker.cli.entry)
    if detach and exit_command is not None:
        if lock is not None:
            os.set_inheritable(lock, True)
        monitor.become(container.pid, container.streams, container.log, exit_command)
    signal.signal(signal.SIGTERM, lambda signum, _: deliver(container.pid, signum))
    if container.master is not None and terminal_fd is not None:
        master = container.master

        def resize(_signum: int, _frame: object) -> None:
            terminal.set_window_size(master, terminal.window_size(terminal_fd))

        signal.signal(signal.SIGWINCH, resize)
    relay.pump(container.outputs, container.inputs, container.pidfd)
    container.log.flush()
    status = _reap(container.pid)
    _finish(on_exit, status)
    return status.exit_code


def _create(
    spec: Spec,
    host: HostSide,
    launcher: Channel,
    detach: bool,
    size: bytes | None,
    devnull: int,
) -> _Container:
    """Fork pid 1 in a new pid namespace and walk it through created -> go -> exec."""
    with step("open log"):
        settings = host.log
        log = ContainerLog(
            settings.driver, str(settings.path), settings.max_size, settings.max_files
        )
    foreground = not detach
    assert spec.process is not None
    tty = spec.process.terminal
    outputs: dict[int, list[relay.Target]] = {}
    inputs: dict[int, list[relay.Target]] = {}
    streams: dict[int, str] = {}
    if tty:
        stdio = (devnull, devnull, devnull)
        ends: tuple[int, ...] = ()
    else:
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        # With -i the container reads the caller's stdin directly: nothing to relay.
        stdin = 0 if host.interactive and foreground else devnull
        stdio = (stdin, out_write, err_write)
        ends = (out_write, err_write)
        outputs = {
            out_read: [1, *log.targets("stdout")] if foreground else log.targets("stdout"),
            err_read: [2, *log.targets("stderr")] if foreground else log.targets("stderr"),
        }
        streams = {out_read: "stdout", err_read: "stderr"}
    if host.foreign is not None:
        return _create_foreign(
            spec, host, launcher, stdio, ends, (outputs, streams), log, foreground
        )
    userns, netns = new_user_namespace(spec)
    mine, theirs = sync.pair()
    try:
        pid = _fork_pid1(spec, host, theirs, stdio, size, (mine, launcher), (userns, netns))
    finally:
        for fd in (userns, netns):
            if fd >= 0:
                os.close(fd)
    container = _Container(pid, os.pidfd_open(pid), mine, outputs, inputs, log, streams)
    theirs.close()
    for fd in ends:
        os.close(fd)
    _expect(container, sync.CREATED)
    _tell(launcher, sync.CREATED, str(pid))
    kind, text, _ = sync.receive(launcher)
    if kind != sync.GO:
        _kill(container)
        if kind == sync.ABORT:
            raise _Abandoned(text)
        raise RuntimeFailure("start abandoned: the caller went away")
    sync.send(mine, sync.GO)
    while True:
        kind, text, fds = sync.receive(mine)
        if kind == sync.PTY:
            _take_pty(container, fds[0], foreground)
            if host.interactive and foreground:
                container.inputs = {0: [fds[0]]}
            continue
        if kind == sync.CLOSED:
            return container  # close-on-exec closed the init's end: execve succeeded
        _fail_with(container, kind, text)


def _create_foreign(
    spec: Spec,
    host: HostSide,
    launcher: Channel,
    stdio: tuple[int, int, int],
    ends: tuple[int, ...],
    routes: tuple[dict[int, list[relay.Target]], dict[int, str]],
    log: ContainerLog,
    foreground: bool,
) -> _Container:
    """The same walk with another OCI runtime: its `create`, the launcher's go, `start`."""
    from pathlib import Path

    from shocker.runtime import foreign  # only here: subprocess, json

    runtime = host.foreign
    assert runtime is not None and spec.process is not None
    idmapped = runtime.idmapped_root
    try:
        if idmapped:
            _idmap_root_for_foreign(spec, runtime)
        try:
            pid, master = foreign.create(runtime, stdio, spec.process.terminal)
        finally:
            if idmapped:
                # The container has its own copy now; ours would only pin the subvolume.
                syscalls.umount2(runtime.idmapped_root, syscalls.MNT_DETACH)
                Path(runtime.idmapped_root).rmdir()
    finally:
        for fd in ends:
            os.close(fd)
    mine, theirs = sync.pair()
    theirs.close()
    container = _Container(pid, os.pidfd_open(pid), mine, routes[0], {}, log, routes[1])
    if master is not None:
        _take_pty(container, master, foreground)
        if host.interactive and foreground:
            container.inputs = {0: [master]}
    _tell(launcher, sync.CREATED, str(pid))
    kind, text, _ = sync.receive(launcher)
    if kind != sync.GO:
        _kill(container)
        if kind == sync.ABORT:
            raise _Abandoned(text)
        raise RuntimeFailure("start abandoned: the caller went away")
    try:
        foreign.start(runtime)
    except RuntimeFailure:
        _kill(container)
        raise
    return container


def _idmap_root_for_foreign(spec: Spec, runtime: ForeignRuntime) -> None:
    """The container's root as an idmapped bind at runtime.idmapped_root, for another
    runtime to use as its root.path: the OCI spec runc 1.1 and crun 1.8 read has no idmap
    for the root, so the engine makes it, as it does for its own init. It is mounted in a
    mount namespace of the supervisor's own (private, so the host's never sees it); the
    runtime's `create` inherits it and takes its copy into the container's."""
    from shocker.linux import idmap
    from shocker.runtime.namespaces import mappings

    target = runtime.idmapped_root
    with step("create user namespace"):
        fd = idmap.user_namespace(*mappings(spec))
    try:
        with step("create mount namespace"):
            syscalls.unshare(syscalls.CLONE_NEWNS)
            syscalls.mount(None, "/", None, syscalls.MS_REC | syscalls.MS_PRIVATE)
        from pathlib import Path

        from shocker.runtime import rootfs as root_setup

        with step(f"create {target}"):
            Path(target).parent.mkdir(mode=0o711, parents=True, exist_ok=True)
            Path(target).mkdir(mode=0o755)
        try:
            root_setup.bind_idmapped(runtime.rootfs, fd, target)
        except BaseException:
            Path(target).rmdir()
            raise
    finally:
        os.close(fd)


def _take_pty(container: _Container, master: int, foreground: bool) -> None:
    """With a terminal, the pty master carries all output (a terminal has one stream)."""
    container.master = master
    targets = container.log.targets("stdout")
    container.outputs = {master: [1, *targets] if foreground else targets}
    container.streams = {master: "stdout"}


def _fork_pid1(
    spec: Spec,
    host: HostSide,
    channel: Channel,
    stdio: tuple[int, int, int],
    size: bytes | None,
    unrelated: tuple[Channel, ...],
    namespaces: tuple[int, int] = (-1, -1),
) -> int:
    """Fork the init as pid 1 of a new pid namespace, and restore ours for later children:
    on_exit may run subprocesses, which must not land in the dying namespace
    (setns(2): CLONE_NEWPID sets the namespace of children)."""
    with step("create pid namespace"):
        own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        syscalls.unshare(syscalls.CLONE_NEWPID)
    pid = os.fork()
    if pid == 0:
        for sock in unrelated:
            sock.close()
        init.enter(spec, host, channel, stdio, size, *namespaces)
    try:
        syscalls.setns(own, syscalls.CLONE_NEWPID)
    except OSError as error:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise RuntimeFailure(f"restore pid namespace: {error.strerror}") from None
    finally:
        os.close(own)
    return pid


def _expect(container: _Container, wanted: str) -> None:
    kind, text, _ = sync.receive(container.channel)
    if kind != wanted:
        _fail_with(container, kind, text)


def _fail_with(container: _Container, kind: str, text: str) -> NoReturn:
    """The init reported a failure (or died): reap it and raise what it said."""
    _reap(container.pid)
    if kind == sync.FAIL:
        code, _, message = text.partition(" ")
        raise RuntimeFailure(message, exit_code=int(code))
    raise RuntimeFailure("container init exited before its command started")


def _kill(container: _Container) -> None:
    with suppress(ProcessLookupError):
        os.kill(container.pid, signal.SIGKILL)
    _reap(container.pid)


def _reap(pid: int) -> ExitStatus:
    return ExitStatus(*monitor.exit_status(os.waitpid(pid, 0)[1]))


def _tell(launcher: Channel, kind: str, text: str) -> bool:
    """Send to the launcher; False when it is gone (killed meanwhile)."""
    try:
        sync.send(launcher, kind, text)
    except OSError:
        return False
    return True


def _finish(on_exit: Callable[[ExitStatus], None], status: ExitStatus) -> None:
    # Nobody is left to hear about a failing on_exit: the exit code still goes out.
    try:
        on_exit(status)
    except Exception:
        return
