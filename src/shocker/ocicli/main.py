"""`shocker-runtime`: an OCI runtime with runc's command line, so containerd's
io.containerd.runc.v2 shim (and anything else that drives runc) can use it.

    shocker-runtime [--root DIR] [--log FILE] [--log-format text|json] COMMAND ...

Errors: one line on stderr and, with --log, a JSON line {"level":"error","msg":...} there,
which is where the shim reads a failed command's reason; exit status 1.
"""

from __future__ import annotations

import os
import sys

from shocker.errors import ShockerError
from shocker.ocicli.args import COMMANDS, GLOBAL, parse
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from shocker.ocicli.args import Option
    from shocker.ocicli.container import Container
    from shocker.parsed import Namespace

    Args = Namespace | argparse.Namespace


def _parser() -> argparse.ArgumentParser:
    """argparse from the table in shocker.ocicli.args: for --help and whatever parse() leaves."""
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> None:  # type: ignore[override]
            raise ShockerError(f"{self.prog}: {message}")

    def add(parser: argparse.ArgumentParser, option: Option) -> None:
        if option.value:
            parser.add_argument(
                *option.names,
                default=option.default,
                choices=option.choices,
                type=int if option.integer else str,
                required=option.required,
                help=option.help,
            )
        else:
            parser.add_argument(*option.names, action="store_true", help=option.help)

    parser = Parser(prog="shocker-runtime", description=__doc__.split("\n\n")[0])
    for option in GLOBAL:
        add(parser, option)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, command in COMMANDS.items():
        sub = commands.add_parser(name, help=command.summary, description=command.summary)
        for option in command.options:
            add(sub, option)
        for positional in command.positionals:
            sub.add_argument(positional)
        if command.optional is not None:
            sub.add_argument(command.optional[0], nargs="?", default=command.optional[1])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = None
    try:
        words = sys.argv[1:] if argv is None else argv
        args = parse(words) or _parser().parse_args(words)
        return _dispatch(args)
    except ShockerError as error:
        _report(args, error.message)
        return 1
    except KeyboardInterrupt:
        return 130


def _report(args: Args | None, message: str) -> None:
    print(message, file=sys.stderr)
    log = getattr(args, "log", None)
    if not log:
        return
    from shocker.runtime.ocistate import now_rfc3339

    if getattr(args, "log_format", "text") == "json":
        import json

        line = json.dumps({"level": "error", "msg": message, "time": now_rfc3339()})
    else:
        line = f'time="{now_rfc3339()}" level=error msg="{message}"'
    try:
        with open(log, "a") as f:
            f.write(line + "\n")
    except OSError:
        return


def _dispatch(args: Args) -> int:
    if args.systemd_cgroup:
        raise ShockerError("--systemd-cgroup: the systemd cgroup driver is not supported")
    if args.rootless not in ("false", "auto"):
        raise ShockerError("--rootless: rootless containers are not supported")
    if args.command is None:
        raise ShockerError("shocker-runtime: give a command (see --help)")
    if args.command == "features":
        import json

        from shocker.ocicli.features import features

        print(json.dumps(features(), indent=2))
        return 0
    from shocker.ocicli import container as oc
    from shocker.runtime.ocistate import DEFAULT_ROOT

    root = args.root or DEFAULT_ROOT
    if args.command == "list":
        for name in sorted(os.listdir(root)) if os.path.isdir(root) else []:
            print(name)
        return 0
    if args.command in ("create", "run"):
        from pathlib import Path

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


def _start(container: Container, _: Args) -> int:
    container.start()
    return 0


def _state(container: Container, _: Args) -> int:
    from shocker import leanjson

    print(leanjson.dumps(container.state_json(), indent=2))
    return 0


def _kill(container: Container, args: Args) -> int:
    container.kill(parse_signal(args.signal), every=args.all)
    return 0


def _delete(container: Container, args: Args) -> int:
    container.delete(force=args.force)
    return 0


def _exec(container: Container, args: Args) -> int:
    from pathlib import Path

    return container.exec(
        Path(args.process),
        detach=args.detach,
        pid_file=args.pid_file,
        console_socket=args.console_socket,
        tty=args.tty,
    )


def _ps(container: Container, args: Args) -> int:
    pids = container.pids()
    if args.format == "json":
        import json

        print(json.dumps(pids))
    else:
        print("PID")
        for pid in pids:
            print(pid)
    return 0


def _pause(container: Container, _: Args) -> int:
    container.pause()
    return 0


def _resume(container: Container, _: Args) -> int:
    container.resume()
    return 0


def _update(container: Container, args: Args) -> int:
    import json
    from pathlib import Path

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
