"""Another OCI runtime (runc, crun, any binary with runc's command line) running a
container's bundle in place of shocker's own init: `create` with the supervisor's stdio,
the engine's on_created, then `start`; `delete --force` once it is over.

The supervisor is made a child subreaper first, so the runtime's init — orphaned when
`create` exits — becomes its child, to be reaped like its own.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from shocker.errors import EXIT_ENGINE, RuntimeFailure
from shocker.record import record

PR_SET_CHILD_SUBREAPER = 36


@record(frozen=True, kw_only=True)
class ForeignRuntime:
    binary: str
    bundle: str  # directory holding config.json
    state_root: str  # the runtime's --root, private to this container
    id: str
    # With a user namespace: where the supervisor mounts the idmapped root (root.path),
    # and the container's subvolume it binds there.
    idmapped_root: str = ""
    rootfs: str = ""

    def argv(self, *args: str) -> list[str]:
        log = str(Path(self.state_root) / "log.json")
        return [self.binary, "--root", self.state_root, "--log", log, "--log-format", "json", *args]


IDMAPPED_ROOTS = "/run/shocker/roots"


def idmapped_root_path(container_id: str, bundle: Path) -> str:
    """Where a container's idmapped root is mounted for another runtime: a directory every
    id may traverse (runc and crun bind root.path onto itself from inside the user
    namespace, as container root, which may not search a store under a 0700 directory),
    named for this container of this store."""
    try:
        info = bundle.stat()
    except OSError:
        return f"{IDMAPPED_ROOTS}/{container_id}"  # not made yet (run --explain)
    return f"{IDMAPPED_ROOTS}/{container_id}-{info.st_dev:x}-{info.st_ino:x}"


def _last_error(runtime: ForeignRuntime, fallback: str) -> str:
    """The runtime's own reason, from its JSON log (where runc writes it)."""
    try:
        lines = (Path(runtime.state_root) / "log.json").read_text().splitlines()
    except OSError:
        return fallback
    for line in reversed(lines):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("level") in ("error", "fatal"):
            return str(entry.get("msg", fallback))
    return fallback


def create(
    runtime: ForeignRuntime, stdio: tuple[int, int, int], tty: bool
) -> tuple[int, int | None]:
    """`create`; the container's host pid and, with a tty, its pty master."""
    from shocker.linux.syscalls import prctl

    prctl(PR_SET_CHILD_SUBREAPER, 1)
    Path(runtime.state_root).mkdir(parents=True, exist_ok=True)
    pid_file = Path(runtime.state_root) / "pid"
    args = ["create", "--bundle", runtime.bundle, "--pid-file", str(pid_file)]
    listener = None
    if tty:
        import _socket

        socket_path = str(Path(runtime.state_root) / "console.sock")
        Path(socket_path).unlink(missing_ok=True)
        listener = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        listener.bind(socket_path)
        listener.listen(1)
        args += ["--console-socket", socket_path]
    import subprocess  # only with another runtime: ~2.5 ms (threading, selectors) per start

    try:
        result = subprocess.run(
            runtime.argv(*args, runtime.id),
            stdin=stdio[0],
            stdout=stdio[1],
            stderr=stdio[2],
            check=False,
        )
        if result.returncode != 0:
            raise _failure(
                _last_error(runtime, f"{runtime.binary} create failed ({result.returncode})")
            )
        pid = int(pid_file.read_text())
        master = _receive_master(listener) if listener is not None else None
    finally:
        if listener is not None:
            listener.close()
    return pid, master


def _receive_master(listener: object) -> int:
    import _socket

    assert isinstance(listener, _socket.socket)
    from shocker.runtime import sync

    # The C module's socket has _accept(): a descriptor, not a socket object.
    fd, _ = listener._accept()  # type: ignore[attr-defined]
    connection = _socket.socket(fileno=fd)
    try:
        _, _, fds = sync.receive(connection)
    finally:
        connection.close()
    if not fds:
        raise RuntimeFailure("the runtime sent no terminal over the console socket")
    return fds[0]


def start(runtime: ForeignRuntime) -> None:
    import subprocess

    result = subprocess.run(
        runtime.argv("start", runtime.id),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    if result.returncode != 0:
        raise _failure(_last_error(runtime, f"{runtime.binary} start failed"))


def _failure(message: str) -> RuntimeFailure:
    """The runtime's reason, with Docker's exit status for it (daemon/start.go): 127 when
    the command is not found, 126 when it cannot be executed, else 125."""
    code = EXIT_ENGINE
    if "executable file not found" in message or "no such file or directory" in message:
        code = 127
    if "permission denied" in message:
        code = 126
    return RuntimeFailure(message, exit_code=code)


def delete(runtime: ForeignRuntime) -> str | None:
    """`delete --force`; the failure as a line, None when it went well or was not needed."""
    if not Path(runtime.state_root).exists():
        return None
    import subprocess

    result = subprocess.run(
        runtime.argv("delete", "--force", runtime.id),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 and "does not exist" not in result.stderr:
        return _last_error(runtime, result.stderr.strip() or "delete failed")
    return None


def resolve(name: str) -> str:
    """`runc`, `crun`, a name on PATH or a path -> the absolute path of an executable.

    Raises RuntimeFailure (one line) when there is none."""
    import shutil

    if "/" in name:
        path = Path(name)
        if path.is_file() and os.access(path, os.X_OK):
            return str(path.absolute())
        raise RuntimeFailure(f"runtime {name}: no such executable")
    found = shutil.which(name) or shutil.which(name, path="/usr/local/sbin:/usr/sbin:/sbin")
    if found is None:
        raise RuntimeFailure(f"unknown runtime '{name}': no such OCI runtime on PATH")
    return found
