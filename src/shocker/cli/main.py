"""Entry point: global flags, lazy dispatch to one command module, errors rendered once."""

from __future__ import annotations

import gc
import os
import sys

from shocker.cli.commands import COMMANDS, HIDDEN
from shocker.errors import EXIT_ENGINE, ShockerError, UsageError
from shocker.settings import Settings
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, Protocol

    from shocker.cli.argparser import Parser
    from shocker.cli.flags import FlagParser

    class CommandModule(Protocol):
        def add_arguments(self, parser: Any) -> None: ...

        def run(self, args: Any, settings: Settings) -> int: ...


USAGE = "Usage: shocker [--debug] COMMAND [OPTIONS] [ARGS...]"

# The start-critical commands parse with shocker.cli.flags (Docker's syntax, no argparse
# import: see there for the measurement); the others with argparse.
LEAN_COMMANDS = frozenset({"run", "exec", "ps"})


def make_parser(name: str) -> tuple[Parser | FlagParser, CommandModule]:
    """The argument parser of one command (imports only that command's module)."""
    entry = COMMANDS.get(name) or HIDDEN[name]
    # __import__ rather than importlib.import_module: the importlib package (and warnings,
    # which it imports) is 0.44 M instructions of every start (callgrind, python -I -S).
    module_name = f"shocker.cli.commands.{entry.module}"
    __import__(module_name)
    module: CommandModule = sys.modules[module_name]
    parser: Parser | FlagParser
    if name in LEAN_COMMANDS:
        from shocker.cli.flags import FlagParser

        parser = FlagParser(prog=f"shocker {name}", description=entry.summary)
    else:
        from shocker.cli.argparser import Parser

        parser = Parser(prog=f"shocker {name}", description=entry.summary)
    adder = getattr(module, f"add_{name}_arguments", None)
    if adder is not None:
        adder(parser)
    else:
        module.add_arguments(parser)
    return parser, module


def general_help() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [USAGE, "", "Commands:"]
    lines += [f"  {name.ljust(width)}  {entry.summary}" for name, entry in COMMANDS.items()]
    lines += [
        "",
        "Run 'shocker help' for every command's usage, 'shocker COMMAND --help' for one.",
        "Environment: SHOCKER_ROOT, SHOCKER_REGISTRY, SHOCKER_REGISTRY_USER,",
        "SHOCKER_REGISTRY_PASS, SHOCKER_MEM_LIMIT, SHOCKER_CPU_SHARE, SHOCKER_BRIDGE,",
        "SHOCKER_SUBNET, SHOCKER_INSECURE_REGISTRIES, SHOCKER_DEBUG.",
    ]
    return "\n".join(lines)


def dispatch(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(general_help())
        return 0
    if argv[0] in ("-v", "--version", "version"):
        from shocker import __version__

        print(f"shocker {__version__}")
        return 0
    name = argv[0]
    if name not in COMMANDS and name not in HIDDEN:
        raise UsageError(f"unknown command '{name}'", hint="see 'shocker help'")
    if name not in LEAN_COMMANDS:
        gc.enable()  # off for the start-up only (shocker.cli.entry)
    parser, module = make_parser(name)
    args = parser.parse_args(argv[1:])
    args.command_name = name
    return module.run(args, Settings.from_env())


# Commands whose process ends right after main returns: they skip the interpreter's
# shutdown (module teardown, garbage collection: ~8 ms) once their output is flushed.
# `pull` joins its download threads and closes its files before it returns.
FAST_EXIT = frozenset({"run", "ps", "pull"})


def main(argv: list[str] | None = None) -> int:
    """The console entry point; with argv given (tests) it only returns the exit code."""
    if argv is not None:
        return run_main(list(argv))
    code = run_main(sys.argv[1:])
    if IMPORT_LOG in os.environ:
        record_imports(os.environ[IMPORT_LOG])
    if sys.argv[1:2] and sys.argv[1] in FAST_EXIT:
        exit_now(code)
    return code


# A file to append, when set, "COMMAND module module..." at the end of each command: the
# test that keeps heavy modules off the start path reads it.
IMPORT_LOG = "SHOCKER_IMPORT_LOG"


def record_imports(path: str) -> None:
    command = sys.argv[1] if sys.argv[1:] else "-"
    with open(path, "a") as log:
        log.write(" ".join([command, *sorted(sys.modules)]) + "\n")


def exit_now(code: int) -> None:
    """os._exit(code) after flushing stdout and stderr; returns if flushing fails."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        # A closed or broken stream: let the normal shutdown report or swallow it.
        return
    os._exit(code)


def run_main(argv: list[str]) -> int:
    debug = os.environ.get("SHOCKER_DEBUG", "") not in ("", "0")
    while argv and argv[0] == "--debug":
        debug = True
        argv.pop(0)
    try:
        return dispatch(argv)
    except ShockerError as error:
        if debug:
            import traceback

            traceback.print_exc()
        line = error.message if not error.hint else f"{error.message} ({error.hint})"
        print(line, file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`shocker ps | head`): nothing more to say.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as error:
        if debug:
            raise
        print(f"shocker: internal error: {error!r} (run with --debug for details)", file=sys.stderr)
        return EXIT_ENGINE


if __name__ == "__main__":
    raise SystemExit(main())
