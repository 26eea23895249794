"""`create` and `start` of an OCI runtime: fork the container's init, walk it through its
confinement up to execve, and hold it there on exec.fifo until `start` opens the fifo.

Process tree: the caller (containerd's shim, a subreaper) -> `shocker-runtime create` ->
init. create exits once the init is ready, so the init becomes the caller's child, with
the caller's stdio, as the shim expects of runc.

The handshake with the init, on one SOCK_SEQPACKET pair (runtime/sync.py):
    init -> "created"          namespaces to come; the parent adds it to its cgroup
    parent -> "go"
    init -> "ready"            confined, blocked on exec.fifo (or "fail CODE MESSAGE")
"""

from __future__ import annotations

import _socket
import os
import signal
from pathlib import Path

from shocker.errors import EXIT_ENGINE, RuntimeFailure
from shocker.linux import sealedexec, syscalls
from shocker.oci.runtime_spec import Process, Spec
from shocker.runtime import sequence, sync, terminal
from shocker.runtime.failure import step
from shocker.runtime.namespaces import join_namespaces, user_namespace
from shocker.runtime.ocistate import StateDir
from shocker.runtime.plan import mount_plan
from shocker.runtime.sync import Channel
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

# Messages of the create handshake (runtime/sync.py).
CREATED, GO, READY, FAIL = sync.CREATED, sync.GO, sync.READY, sync.FAIL


def check_supported(spec: Spec) -> None:
    """Refuse what this runtime cannot honour, before anything is made."""
    if spec.process is None:
        raise RuntimeFailure("config.json: process is required to create a container")
    for namespace in spec.linux.namespaces:
        if namespace.type == "time":
            raise RuntimeFailure("config.json: linux.namespaces: time namespaces are not supported")
    user = spec.linux.namespace("user")
    mapped = bool(spec.linux.uid_mappings or spec.linux.gid_mappings)
    if mapped and (user is None or user.path):
        raise RuntimeFailure("config.json: linux.uidMappings need a new user namespace")
    if (
        user is not None
        and not user.path
        and not (spec.linux.uid_mappings and spec.linux.gid_mappings)
    ):
        raise RuntimeFailure(
            "config.json: a new user namespace needs linux.uidMappings and linux.gidMappings"
        )
    if spec.linux.namespace("mount") is None:
        # pivot_root and every mount would act on the caller's own mount namespace.
        raise RuntimeFailure("config.json: linux.namespaces must include a mount namespace")
    # Without the namespace they belong to, these would change the host (runc refuses too).
    if spec.hostname and spec.linux.namespace("uts") is None:
        raise RuntimeFailure("config.json: hostname needs a uts namespace of the container's")
    for key, _ in spec.linux.sysctl:
        kind = sysctl_namespace(key)
        if kind is None:
            raise RuntimeFailure(f"config.json: linux.sysctl {key} is not namespaced")
        if spec.linux.namespace(kind) is None:
            raise RuntimeFailure(f"config.json: linux.sysctl {key} needs a {kind} namespace")


def sysctl_namespace(key: str) -> str | None:
    """The namespace a sysctl belongs to (runc's validator), or None: the host's alone."""
    if key.startswith("net."):
        return "network"
    if key.startswith("fs.mqueue.") or key in _IPC_SYSCTLS:
        return "ipc"
    if key in ("kernel.hostname", "kernel.domainname"):
        return "uts"
    return None


_IPC_SYSCTLS = frozenset(
    {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
     "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"}
)  # fmt: skip


def create(
    spec: Spec,
    rootfs: str,
    directory: StateDir,
    *,
    console_socket: str | None,
    seccomp: bytes | None,
    cgroup_binds: Sequence[tuple[str, str]],
    on_created: Callable[[int], None],
    preserve_fds: int = 0,
) -> int:
    """Fork the init and bring it to the point before execve; its host pid.

    on_created(pid) runs while the init waits, before any namespace but pid exists (join
    the cgroup there). Raises RuntimeFailure with the init's own reason."""
    assert spec.process is not None
    mounts = mount_plan(spec, cgroup_binds)
    console = connect(console_socket) if spec.process.terminal else None
    if spec.process.terminal and console is None:
        raise RuntimeFailure("process.terminal is set: a --console-socket is required")
    # Made (or opened) here, in the host's pid namespace; joined last by the init.
    userns = user_namespace(spec, pid=None)
    steps = sequence.init_steps(spec, rootfs, mounts, seccomp, userns)
    fifo = os.open(directory.fifo, os.O_PATH | os.O_CLOEXEC)
    mine, theirs = sync.pair()
    try:
        _enter_pid_namespace(spec)
        pid = os.fork()
        if pid == 0:
            mine.close()
            sync.become_or_report(
                theirs,
                "init",
                lambda: _init(spec, steps, theirs, console, fifo, preserve_fds),
            )
        theirs.close()
        try:
            _handshake(mine, pid, lambda p: _created(p, spec.process, on_created))
        except BaseException:
            _kill(pid)
            raise
        return pid
    finally:
        mine.close()
        os.close(fifo)
        if userns is not None:
            os.close(userns)
        if console is not None:
            console.close()


def _enter_pid_namespace(spec: Spec) -> None:
    namespace = spec.linux.namespace("pid")
    if namespace is None:
        return
    if namespace.path:
        with step(f"join pid namespace {namespace.path}"):
            fd = os.open(namespace.path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                syscalls.setns(fd, syscalls.CLONE_NEWPID)
            finally:
                os.close(fd)
    else:
        with step("create pid namespace"):
            syscalls.unshare(syscalls.CLONE_NEWPID)


def _created(pid: int, process: Process | None, on_created: Callable[[int], None]) -> None:
    """While the init waits: its cgroup, then its oom_score_adj, set from outside as runc
    sets it (lowering it needs CAP_SYS_RESOURCE, which the init may not keep)."""
    on_created(pid)
    if process is not None and process.oom_score_adj is not None:
        with step("set oom_score_adj"), open(f"/proc/{pid}/oom_score_adj", "w") as f:
            f.write(str(process.oom_score_adj))


def _handshake(channel: Channel, pid: int, on_created: Callable[[int], None]) -> None:
    kind, text, _ = sync.receive(channel)
    if kind == CREATED:
        on_created(pid)
        sync.send(channel, GO)
        kind, text, _ = sync.receive(channel)
    if kind == READY:
        return
    if kind == FAIL:
        _, _, message = text.partition(" ")
        raise RuntimeFailure(message)
    raise RuntimeFailure("container init exited before it was ready")


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        return


def connect(path: str | None) -> _socket.socket | None:
    if path is None:
        return None
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    with step(f"connect to console socket {path}"):
        sock.connect(path)
    return sock


def _init(
    spec: Spec,
    steps: list[sequence.SequenceStep],
    channel: Channel,
    console: _socket.socket | None,
    fifo: int,
    preserve_fds: int,
) -> None:
    from shocker.runtime.process import close_other_fds_on_exec, reset_signals

    reset_signals()
    # Before any container namespace: undumpable, and the sealed execve trampoline.
    trampoline = sealedexec.prepare()
    # Nothing of ours leaks into the container but the descriptors the caller passes on.
    close_other_fds_on_exec()
    for fd in range(3, 3 + preserve_fds):
        try:
            os.set_inheritable(fd, True)
        except OSError:
            continue
    sync.send(channel, CREATED)
    kind, _, _ = sync.receive(channel)
    if kind != GO:
        os._exit(EXIT_ENGINE)
    join_namespaces(spec, pid=None)
    assert spec.process is not None
    process = spec.process

    def ready() -> None:
        check_command(process)
        sync.send(channel, READY)
        channel.close()
        # Blocks until `start` opens the other end; the O_PATH descriptor was opened before
        # pivot_root, so the host path need not be visible in here.
        writer = os.open(f"/proc/self/fd/{fifo}", os.O_WRONLY | os.O_CLOEXEC)
        os.write(writer, b"0")
        os.close(writer)
        os.close(fifo)

    sequence.run(
        steps,
        {"terminal": lambda: attach_console(process, console), "ready": ready},
        trampoline,
    )


def attach_console(process: Process, console: _socket.socket | None) -> None:
    """A pty from the container's devpts as stdio and controlling terminal; its master goes
    over the console socket (SCM_RIGHTS), as runc sends it to containerd's shim."""
    assert console is not None
    with step("create terminal"):
        master, slave, path = terminal.open_pty()
        if process.console_size is not None:
            size = process.console_size
            import struct

            terminal.set_window_size(master, struct.pack("HHHH", size.height, size.width, 0, 0))
        console_path = Path("/dev/console")
        if console_path.exists() or os.access("/dev", os.W_OK):
            console_path.touch(mode=0o600)
            syscalls.mount(path, "/dev/console", None, syscalls.MS_BIND)
        sync.send(console, sync.PTY, path, fds=(master,))
        console.close()
        os.close(master)
        terminal.make_controlling_terminal(slave)


def check_command(process: Process) -> None:
    """Fail the create, not the start, for a command that cannot run (runc does the same)."""
    from shocker.runtime.process import find_executable

    find_executable(process.args[0], list(process.env))
