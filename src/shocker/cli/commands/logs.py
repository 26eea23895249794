"""`shocker logs [-f] CONTAINER`: what the container printed (kept after it exits)."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--follow", action="store_true", help="follow until it exits")
    parser.add_argument("container")


def run(args: argparse.Namespace, settings: Settings) -> int:
    import sys

    from shocker.cli.context import open_store
    from shocker.engine.status import is_running
    from shocker.runtime import logs

    store = open_store(settings, "logs")
    record = store.containers.resolve(args.container)
    path = store.containers.log_path(record.id)
    out = sys.stdout.buffer
    if args.follow:

        def running() -> bool:
            try:
                return is_running(store.containers.get(record.id))
            except Exception:
                return False

        logs.follow(path, out, running)
    else:
        logs.read_all(path, out)
    out.flush()
    return 0
