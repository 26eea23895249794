"""`shocker-runtime`: an OCI runtime with runc's command line, so containerd's
io.containerd.runc.v2 shim (and anything else that drives runc) can use it.

    shocker-runtime [--root DIR] [--log FILE] [--log-format text|json] COMMAND ...

Errors: one line on stderr and, with --log, a JSON line {"level":"error","msg":...} there,
which is where the shim reads a failed command's reason; exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from shocker.errors import ShockerError
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from shocker.ocicli.container import Container


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ShockerError(f"{self.prog}: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="shocker-runtime", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=None, help="state directory (/run/shocker-runtime)")
    parser.add_argument("--log", default=None, help="write errors (and info) to this file")
    parser.add_argument("--log-format", default="text", choices=("text", "json"))
    parser.add_argument("--debug", action="store_true", help="accepted for runc compatibility")
    parser.add_argument("--systemd-cgroup", action="store_true")
    parser.add_argument("--rootless", default="false")
    parser.add_argument("--criu", default=None, help="accepted for runc compatibility")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=summary, description=summary)

    create = command("create", "create a container from a bundle; its process waits for start")
    run = command("run", "create and start a container; wait for it unless --detach")
    for sub in (create, run):
        sub.add_argument("--bundle", "-b", default=".")
        sub.add_argument("--pid-file", default=None)
        sub.add_argument("--console-socket", default=None)
        sub.add_argument("--no-pivot", action="store_true")
        sub.add_argument("--no-new-keyring", action="store_true")
        sub.add_argument("--preserve-fds", type=int, default=0)
        sub.add_argument("id")
    run.add_argument("--detach", "-d", action="store_true")
    command("start", "run the created container's process").add_argument("id")
    command("state", "print the container's state as JSON").add_argument("id")
    kill = command("kill", "send a signal (default SIGTERM) to the container's init")
    kill.add_argument("--all", "-a", action="store_true", help="to every process in it")
    kill.add_argument("id")
    kill.add_argument("signal", nargs="?", default="SIGTERM")
    delete = command("delete", "delete a stopped container (--force: kill it first)")
    delete.add_argument("--force", "-f", action="store_true")
    delete.add_argument("id")
    exec_ = command("exec", "run a process (--process FILE) in a running container")
    exec_.add_argument("--process", "-p", required=True)
    exec_.add_argument("--detach", "-d", action="store_true")
    exec_.add_argument("--pid-file", default=None)
    exec_.add_argument("--console-socket", default=None)
    exec_.add_argument("--tty", "-t", action="store_true")
    exec_.add_argument("--preserve-fds", type=int, default=0)
    exec_.add_argument("id")
    ps = command("ps", "list the host pids of the container's processes")
    ps.add_argument("--format", "-f", default="table", choices=("table", "json"))
    ps.add_argument("id")
    command("pause", "freeze every process of the container").add_argument("id")
    command("resume", "thaw a paused container").add_argument("id")
    update = command("update", "change the container's cgroup limits")
    update.add_argument("--resources", "-r", required=True, help="resources JSON, - for stdin")
    update.add_argument("id")
    command("features", "print what this runtime supports, as JSON")
    command("list", "list containers under --root")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = None
    try:
        args = _parser().parse_args(argv)
        return _dispatch(args)
    except ShockerError as error:
        _report(args, error.message)
        return 1
    except KeyboardInterrupt:
        return 130


def _report(args: argparse.Namespace | None, message: str) -> None:
    print(message, file=sys.stderr)
    log = getattr(args, "log", None)
    if not log:
        return
    from shocker.runtime.ocistate import now_rfc3339

    if getattr(args, "log_format", "text") == "json":
        line = json.dumps({"level": "error", "msg": message, "time": now_rfc3339()})
    else:
        line = f'time="{now_rfc3339()}" level=error msg="{message}"'
    try:
        with open(log, "a") as f:
            f.write(line + "\n")
    except OSError:
        return


def _dispatch(args: argparse.Namespace) -> int:
    if args.systemd_cgroup:
        raise ShockerError("--systemd-cgroup: the systemd cgroup driver is not supported")
    if args.rootless not in ("false", "auto"):
        raise ShockerError("--rootless: rootless containers are not supported")
    if args.command is None:
        raise ShockerError("shocker-runtime: give a command (see --help)")
    if args.command == "features":
        from shocker.ocicli.features import features

        print(json.dumps(features(), indent=2))
        return 0
    from shocker.ocicli import container as oc
    from shocker.runtime.ocistate import DEFAULT_ROOT

    root = Path(args.root) if args.root else DEFAULT_ROOT
    if args.command == "list":
        for entry in sorted(root.iterdir()) if root.is_dir() else []:
            print(entry.name)
        return 0
    if args.command in ("create", "run"):
        container = oc.create(
            root,
            args.id,
            Path(args.bundle).absolute(),
            pid_file=args.pid_file,
            console_socket=args.console_socket,
            preserve_fds=args.preserve_fds,
        )
        if args.command == "create":
            return 0
        container.start()
        return 0 if args.detach else container.wait()
    from shocker.runtime import ocistate

    try:
        container = oc.Container.load(root, args.id)
    except ocistate.NoSuchContainer:
        if args.command == "delete" and args.force:
            # As runc: what is gone is deleted. A create that failed half-way may have left
            # a directory without state; it goes too.
            ocistate.remove_dir(ocistate.StateDir(root, args.id))
            return 0
        raise
    return _COMMANDS[args.command](container, args)


def _start(container: Container, _: argparse.Namespace) -> int:
    container.start()
    return 0


def _state(container: Container, _: argparse.Namespace) -> int:
    print(json.dumps(container.state_json(), indent=2))
    return 0


def _kill(container: Container, args: argparse.Namespace) -> int:
    container.kill(parse_signal(args.signal), every=args.all)
    return 0


def _delete(container: Container, args: argparse.Namespace) -> int:
    container.delete(force=args.force)
    return 0


def _exec(container: Container, args: argparse.Namespace) -> int:
    return container.exec(
        Path(args.process),
        detach=args.detach,
        pid_file=args.pid_file,
        console_socket=args.console_socket,
        tty=args.tty,
    )


def _ps(container: Container, args: argparse.Namespace) -> int:
    pids = container.pids()
    if args.format == "json":
        print(json.dumps(pids))
    else:
        print("PID")
        for pid in pids:
            print(pid)
    return 0


def _pause(container: Container, _: argparse.Namespace) -> int:
    container.pause()
    return 0


def _resume(container: Container, _: argparse.Namespace) -> int:
    container.resume()
    return 0


def _update(container: Container, args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.resources == "-" else Path(args.resources).read_text()
        document = json.loads(text)
    except (OSError, ValueError) as error:
        raise ShockerError(f"--resources {args.resources}: {error}") from None
    container.update(document)
    return 0


_COMMANDS = {
    "start": _start,
    "state": _state,
    "kill": _kill,
    "delete": _delete,
    "exec": _exec,
    "ps": _ps,
    "pause": _pause,
    "resume": _resume,
    "update": _update,
}


def parse_signal(text: str) -> int:
    """`9`, `KILL`, `SIGKILL`, `sigterm` -> the number."""
    import signal

    if text.isdigit():
        return int(text)
    name = text.upper()
    name = name if name.startswith("SIG") else "SIG" + name
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise ShockerError(f"unknown signal {text!r}") from None


def entry() -> None:
    os.umask(0o022)
    sys.exit(main())
