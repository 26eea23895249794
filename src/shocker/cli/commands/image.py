"""`shocker image prune [-a] [-f]`: remove dangling images (`-a`: every image no container
was made from), then the layers and blobs no image uses."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["prune"])
    parser.add_argument(
        "-a", "--all", action="store_true", help="every image no container was made from"
    )
    parser.add_argument("-f", "--force", action="store_true", help="do not ask")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store
    from shocker.cli.pruning import cancelled, confirm, report
    from shocker.engine.prune import prune_images

    store = open_store(settings, "image prune")
    warning = (
        "WARNING! This will remove all images without at least one container associated to them."
        if args.all
        else "WARNING! This will remove all dangling images."
    )
    if not args.force and not confirm(warning):
        return cancelled()
    report([("Deleted Images", prune_images(store, every=args.all))])
    return 0
