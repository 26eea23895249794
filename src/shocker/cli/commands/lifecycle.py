"""`stop`, `start`, `kill`, `wait`: one module for the four lifecycle verbs."""

from __future__ import annotations

import argparse
import sys

from shocker.errors import ShockerError
from shocker.settings import Settings


def add_stop_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-t", "--time", type=float, default=10.0, help="seconds before SIGKILL (default 10)"
    )
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def add_start_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--attach", action="store_true", help="attach to its output")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def add_kill_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-s", "--signal", default="KILL", help="signal to send (default KILL)")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def add_wait_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stop_arguments(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store
    from shocker.engine import lifecycle

    store = open_store(settings, args.command_name)
    status = 0
    signum = lifecycle.parse_signal(args.signal) if args.command_name == "kill" else 0
    for text in args.containers:
        try:
            record = store.containers.resolve(text)
            if args.command_name == "stop":
                lifecycle.stop(store, record, args.time)
            elif args.command_name == "kill":
                lifecycle.send_signal(record, signum)
            elif args.command_name == "start":
                code = lifecycle.start(store, settings, record, attach=args.attach)
                if args.attach:
                    return code
            else:
                lifecycle.wait_for_exit(store, record.id)
                try:
                    exit_code = store.containers.get(record.id).exit_code
                except ShockerError:
                    exit_code = None  # removed on exit (--rm): its code is gone
                print("-1" if exit_code is None else exit_code)
                continue
            print(text)
        except ShockerError as error:
            print(error.message, file=sys.stderr)
            status = error.exit_code
    return status
