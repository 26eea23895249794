"""`exec`: a new process in a running container's namespaces and cgroup, confined by the
same steps as the container's own command (sequence.process_steps, run by the one
executor), with the same I/O and tty rules."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

from shocker.errors import EXIT_ENGINE, RuntimeFailure
from shocker.leancontext import nullcontext, suppress
from shocker.linux import sealedexec, syscalls
from shocker.oci.runtime_spec import Capabilities, Process, Rlimit, User
from shocker.oci.seccomp import Seccomp
from shocker.record import record
from shocker.runtime import process, relay, seccomp, sequence, sync, terminal
from shocker.runtime.capabilities import ALL_CAPABILITIES, DEFAULT_CAPABILITIES
from shocker.runtime.command import final_env
from shocker.runtime.failure import step
from shocker.runtime.launcher import wait_child
from shocker.runtime.signals import Forwarder
from shocker.runtime.sync import Channel
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import NoReturn


@record(frozen=True, kw_only=True)
class ExecSpec:
    argv: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str = "/"
    user: str = ""
    tty: bool = False
    interactive: bool = False
    capabilities: frozenset[str] = DEFAULT_CAPABILITIES
    privileged: bool = False
    no_new_privileges: bool = True
    cgroup_procs: tuple[Path, ...] = ()  # cgroup.procs files to join first
    detach: bool = False  # return once it runs; its output goes nowhere (Docker's exec -d)
    seccomp: Seccomp | None = None
    seccomp_cache: Path | None = None
    rlimits: tuple[Rlimit, ...] = ()  # the container's --ulimit
    userns: bool = False  # the container has a user namespace of its own (--userns=auto)


# The order nsenter(1) and runc use; mnt last, since the others are opened by host paths.
_NAMESPACES = (
    ("ipc", syscalls.CLONE_NEWIPC),
    ("uts", syscalls.CLONE_NEWUTS),
    ("net", syscalls.CLONE_NEWNET),
    ("cgroup", syscalls.CLONE_NEWCGROUP),
    ("mnt", syscalls.CLONE_NEWNS),
)


def exec_in(pid: int, spec: ExecSpec) -> int:
    """Run spec.argv in the container whose pid 1 is host pid `pid`; its exit code.

    Raises RuntimeFailure: 127 not found, 126 not executable, 125 anything else."""
    with step("open the container's namespaces"):
        names = ("pid", *(n for n, _ in _NAMESPACES), *(("user",) if spec.userns else ()))
        fds = {
            name: os.open(f"/proc/{pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC) for name in names
        }
    # Read (or compiled) here, while the host's cache is still in view.
    program = seccomp.program(spec.seccomp, spec.seccomp_cache) if spec.seccomp else None
    terminal_fd = next((fd for fd in (0, 1) if os.isatty(fd)), None) if spec.tty else None
    size = terminal.window_size(terminal_fd) if terminal_fd is not None else None
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    forwarder = Forwarder()
    try:
        _check_namespaces(pid, fds, userns=spec.userns)
        with forwarder.installed():
            child, master = _start(spec, fds, size, program)
            if spec.detach:
                # Once we exit, the container's pid 1 inherits it (pid_namespaces(7)).
                return 0
            return _attend(child, master, spec, forwarder, terminal_fd)
    finally:
        for fd in fds.values():
            os.close(fd)


def _check_namespaces(pid: int, fds: dict[str, int], *, userns: bool) -> None:
    """Refuse to join namespaces the container made for itself.

    Without CAP_SYS_ADMIN, process 1 can leave its namespaces only through a user namespace
    of its own (unshare -U, then -m, -n...), whose root may mount and configure anything
    in them; an exec must not walk into that set-up with the runtime's privileges. Every
    namespace joined must belong to our user namespace, as the ones the container started
    in do; a container with a user namespace of its own has one whose parent is ours (one
    it made itself would be a child of that), and its other namespaces belong to ours or
    to that one (its network namespace is made with it, so that container root holds
    CAP_NET_RAW there; runc and crun make them all in it)."""
    with step("check the container's namespaces"):
        ours = Path("/proc/self/ns/user").stat()
        expected = (ours.st_dev, ours.st_ino)
        theirs = Path(f"/proc/{pid}/ns/user").stat()
        same = (theirs.st_dev, theirs.st_ino) == expected
        # With userns, fds["user"] is checked below: its owner is its parent.
        moved = [] if same != userns else ["user"]
        allowed = {expected, (theirs.st_dev, theirs.st_ino)} if userns else {expected}
        moved += [name for name, fd in fds.items() if syscalls.namespace_owner(fd) not in allowed]
    if moved:
        raise RuntimeFailure(
            "the container's process 1 has moved to namespaces of its own "
            f"({', '.join(moved)}); exec refused"
        )


def _start(
    spec: ExecSpec, fds: dict[str, int], size: bytes | None, program: bytes | None
) -> tuple[int, int | None]:
    """Fork into the container's pid namespace; (child pid, pty master) once it exec'd."""
    mine, theirs = sync.pair()
    with step("join pid namespace"):
        own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        # setns(2) with CLONE_NEWPID moves only our future children; we go back after fork.
        syscalls.setns(fds["pid"], syscalls.CLONE_NEWPID)
    try:
        child = os.fork()
        if child == 0:
            mine.close()
            _enter(spec, fds, theirs, size, program)
    finally:
        syscalls.setns(own, syscalls.CLONE_NEWPID)
        os.close(own)
    theirs.close()
    master = None
    try:
        while True:
            kind, text, received = sync.receive(mine)
            if kind == sync.PTY:
                master = received[0]
                continue
            if kind == "":
                gc.enable()  # started: the collector was off for the start (shocker.cli.entry)
                return child, master
            wait_child(child)
            code, _, message = text.partition(" ")
            raise RuntimeFailure(message, exit_code=int(code) if code.isdigit() else EXIT_ENGINE)
    finally:
        mine.close()


def _attend(
    child: int, master: int | None, spec: ExecSpec, forwarder: Forwarder, terminal_fd: int | None
) -> int:
    """Forward signals (and with a tty: relay it, raw mode, window size) until it exits."""

    def send(signum: int) -> None:
        with suppress(ProcessLookupError):
            os.kill(child, signum)

    if master is None:
        forwarder.attach(send, None)
        return wait_child(child)
    tty_master = master

    def resize() -> None:
        terminal.set_window_size(tty_master, terminal.window_size(terminal_fd or 0))

    forwarder.attach(send, resize if terminal_fd is not None else None)
    raw = terminal.raw_mode(0) if spec.interactive and os.isatty(0) else nullcontext()
    pidfd = os.pidfd_open(child)
    try:
        with raw:
            inputs: dict[int, list[relay.Target]] = {0: [master]} if spec.interactive else {}
            relay.pump({master: [1]}, inputs, pidfd)
    finally:
        os.close(pidfd)
        os.close(master)
    return wait_child(child)


def _enter(
    spec: ExecSpec,
    fds: dict[str, int],
    channel: Channel,
    size: bytes | None,
    program: bytes | None,
) -> NoReturn:
    sync.become_or_report(
        channel, "exec", lambda: _join_and_exec(spec, fds, channel, size, program)
    )


def _join_and_exec(
    spec: ExecSpec,
    fds: dict[str, int],
    channel: Channel,
    size: bytes | None,
    program: bytes | None,
) -> None:
    process.reset_signals()
    # Before any container namespace: undumpable, and the sealed execve trampoline.
    trampoline = sealedexec.prepare()
    if spec.detach:
        os.setsid()  # not in the caller's session: its terminal's signals are not ours
        devnull = os.open("/dev/null", os.O_RDWR)
        for target in (0, 1, 2):
            os.dup2(devnull, target)
        os.close(devnull)
    elif not spec.interactive:
        devnull = os.open("/dev/null", os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
    for path in spec.cgroup_procs:
        with step(f"join cgroup {path}"):
            # "0" is the writing process itself (cgroups(7)); these are host paths, so
            # before the mount namespace changes.
            Path(path).write_text("0")
    for name, kind in _NAMESPACES:
        with step(f"join {name} namespace"):
            syscalls.setns(fds[name], kind)
    # Resolved in the container's own mount namespace: its /etc/passwd, volumes included.
    identity = process.read_identity(spec.user)
    env = final_env(spec.env, hostname=os.uname().nodename, home=identity.home, tty=spec.tty)
    names = ALL_CAPABILITIES if spec.privileged else spec.capabilities
    steps = sequence.process_steps(
        Process(
            args=spec.argv,
            env=tuple(env),
            cwd=spec.cwd,
            user=User(uid=identity.uid, gid=identity.gid, additional_gids=identity.groups),
            capabilities=Capabilities.same(tuple(sorted(names))),
            rlimits=spec.rlimits,
            no_new_privileges=spec.no_new_privileges,
            terminal=spec.tty,
        ),
        program,
        # Last: the other namespaces belong to the host's user namespace.
        fds.get("user"),
    )
    process.close_other_fds_on_exec()

    def attach_terminal() -> None:
        with step("create terminal"):
            master, slave, _ = terminal.open_pty()
            terminal.set_window_size(master, size)
            sync.send(channel, sync.PTY, fds=(master,))
            os.close(master)
            terminal.make_controlling_terminal(slave)

    sequence.run(steps, {"terminal": attach_terminal}, trampoline)
