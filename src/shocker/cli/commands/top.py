"""`shocker top CONTAINER [ps OPTIONS]`: the container's processes, as the host's ps shows."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument(
        "ps_options", nargs=argparse.REMAINDER, metavar="PS_OPTIONS", help="given to ps (-ef)"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store
    from shocker.engine.top import top

    store = open_store(settings, "top")
    record = store.containers.resolve(args.container)
    for line in top(settings, record, list(args.ps_options)):
        print(line)
    return 0
