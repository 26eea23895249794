"""`shocker help [COMMAND]`: usage of every command, or of one."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("topic", nargs="?", help="a command to describe")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.commands import COMMANDS
    from shocker.cli.main import general_help, make_parser
    from shocker.errors import UsageError

    if args.topic:
        if args.topic not in COMMANDS:
            raise UsageError(f"unknown command '{args.topic}'", hint="see 'shocker help'")
        print(make_parser(args.topic)[0].format_help(), end="")
        return 0
    print(general_help())
    for name in COMMANDS:
        if name == "help":
            continue
        print()
        print(make_parser(name)[0].format_usage().strip())
    return 0
