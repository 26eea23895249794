"""`stop`, `start`, `restart`, `kill`, `wait`, `pause`, `unpause`: the lifecycle verbs."""

from __future__ import annotations

import argparse

from shocker.errors import ShockerError
from shocker.settings import Settings


def add_stop_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-t",
        "--time",
        "--timeout",
        type=float,
        default=None,
        help="seconds before SIGKILL (default: the container's --stop-timeout, else 10)",
    )
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def add_restart_arguments(parser: argparse.ArgumentParser) -> None:
    add_stop_arguments(parser)


def add_pause_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def add_unpause_arguments(parser: argparse.ArgumentParser) -> None:
    add_pause_arguments(parser)


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
    from shocker.cli.context import for_each, open_store
    from shocker.engine import lifecycle

    store = open_store(settings, args.command_name)
    if args.command_name == "start" and args.attach:
        # Attached, the first container's exit code is the command's (Docker's rule).
        record = store.containers.resolve(args.containers[0])
        return lifecycle.start(store, settings, record, attach=True)
    signum = lifecycle.parse_signal(args.signal) if args.command_name == "kill" else 0

    def act(text: str) -> None:
        record = store.containers.resolve(text)
        if args.command_name == "stop":
            lifecycle.stop(store, settings, record, args.time)
        elif args.command_name == "restart":
            lifecycle.stop(store, settings, record, args.time)
            lifecycle.start(store, settings, store.containers.get(record.id), attach=False)
        elif args.command_name == "pause":
            lifecycle.pause(store, settings, record)
        elif args.command_name == "unpause":
            lifecycle.unpause(store, settings, record)
        elif args.command_name == "kill":
            lifecycle.kill(store, settings, record, signum)
        elif args.command_name == "start":
            lifecycle.start(store, settings, record, attach=False)
        else:
            lifecycle.wait_for_exit(store, record.id)
            try:
                exit_code = store.containers.get(record.id).exit_code
            except ShockerError:
                exit_code = None  # removed on exit (--rm): its code is gone
            print("-1" if exit_code is None else exit_code)
            return
        print(text)

    return for_each(args.containers, act)
