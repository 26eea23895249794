"""`exec` of an OCI runtime: a process.json run inside a running container — its cgroup,
its namespaces, then the same process steps as the init (runtime/sequence.py)."""

from __future__ import annotations

import _socket
import os
from pathlib import Path

from shocker.linux import sealedexec, syscalls
from shocker.oci.runtime_spec import Process, Spec
from shocker.runtime import sequence, sync
from shocker.runtime.failure import step
from shocker.runtime.namespaces import join_namespaces, user_namespace
from shocker.runtime.ocicreate import attach_console, check_command
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence


def start_process(
    spec: Spec,
    pid: int,
    process: Process,
    *,
    cgroup_procs: Sequence[Path],
    console: _socket.socket | None,
    seccomp: bytes | None,
) -> int:
    """Fork into container `pid`'s namespaces and exec `process`; the new process's host
    pid once its execve succeeded. Raises RuntimeFailure with the child's reason."""
    userns = user_namespace(spec, pid)
    steps = sequence.process_steps(process, seccomp, userns)
    mine, theirs = sync.pair()
    own = None
    if spec.linux.namespace("pid") is not None:
        with step("join pid namespace"):
            own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
            target = os.open(f"/proc/{pid}/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
            try:
                # setns(2) CLONE_NEWPID moves only our children; we go back after fork.
                syscalls.setns(target, syscalls.CLONE_NEWPID)
            finally:
                os.close(target)
    try:
        child = os.fork()
        if child == 0:
            mine.close()
            sync.become_or_report(
                theirs,
                "exec",
                lambda: _enter(spec, pid, process, steps, cgroup_procs, console),
            )
    finally:
        if own is not None:
            syscalls.setns(own, syscalls.CLONE_NEWPID)
            os.close(own)
        if userns is not None:
            os.close(userns)
    theirs.close()
    try:
        kind, text, _ = sync.receive(mine)
    finally:
        mine.close()
    if kind == "":
        return child  # close-on-exec closed the child's end: execve succeeded
    os.waitpid(child, 0)
    from shocker.errors import RuntimeFailure

    code, _, message = text.partition(" ")
    raise RuntimeFailure(message, exit_code=int(code) if code.isdigit() else 1)


def _enter(
    spec: Spec,
    pid: int,
    process: Process,
    steps: list[sequence.SequenceStep],
    cgroup_procs: Sequence[Path],
    console: _socket.socket | None,
) -> None:
    from shocker.runtime.process import close_other_fds_on_exec, reset_signals

    reset_signals()
    # Before any container namespace: undumpable, and the sealed execve trampoline.
    trampoline = sealedexec.prepare()
    for path in cgroup_procs:
        with step(f"join cgroup {path.parent}"):
            # "0" is the writing process itself (cgroups(7)); host paths, so first.
            path.write_text("0")
    join_namespaces(spec, pid=pid)
    close_other_fds_on_exec()
    sequence.run(
        steps,
        {
            "terminal": lambda: attach_console(process, console),
            "ready": lambda: check_command(process),
        },
        trampoline,
    )


def wait(child: int) -> int:
    """The exit code of a foreground exec (128 + signal when killed)."""
    _, status = os.waitpid(child, 0)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.waitstatus_to_exitcode(status)
