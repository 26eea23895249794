"""`shocker exec [OPTIONS] CONTAINER COMMAND...`: run a command in a running container."""

from __future__ import annotations

from shocker.cli.flags import REMAINDER
from shocker.settings import Settings
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.cli.flags import FlagParser
    from shocker.parsed import Namespace


def add_arguments(parser: FlagParser) -> None:
    add = parser.add_argument
    add("-d", "--detach", action="store_true", help="run it in the background")
    add("-i", "--interactive", action="store_true", help="keep stdin open")
    add("-t", "--tty", action="store_true", help="allocate a pseudo-terminal")
    add("-e", "--env", action="append", default=[], metavar="KEY[=VALUE]")
    add("-w", "--workdir", help="working directory inside the container")
    add("-u", "--user", help="user[:group]")
    add("--privileged", action="store_true", help="all capabilities for this command")
    add("container")
    add("command", nargs=REMAINDER)


def run(args: Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store
    from shocker.engine.exec import exec_command
    from shocker.engine.options import parse_env
    from shocker.errors import UsageError

    if not args.command:
        raise UsageError("shocker exec: a command is required", hint="see 'shocker exec --help'")
    store = open_store(settings, "exec")
    return exec_command(
        store,
        settings,
        args.container,
        list(args.command),
        env=parse_env(args.env, []),
        workdir=args.workdir,
        user=args.user,
        tty=args.tty,
        interactive=args.interactive,
        privileged=args.privileged,
        detach=args.detach,
    )
