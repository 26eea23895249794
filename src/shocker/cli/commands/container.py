"""`shocker container prune [-f]`: remove every container that is not running."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["prune"])
    parser.add_argument("-f", "--force", action="store_true", help="do not ask")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store
    from shocker.cli.pruning import cancelled, confirm, report
    from shocker.engine.prune import prune_containers

    store = open_store(settings, "container prune")
    if not args.force and not confirm("WARNING! This will remove all stopped containers."):
        return cancelled()
    report([("Deleted Containers", prune_containers(store, settings))])
    return 0
