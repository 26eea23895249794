"""`shocker rmi IMAGE...`: remove images (by id, name or unique id prefix)."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store
    from shocker.errors import ShockerError

    store = open_store(settings, "rmi")
    status = 0
    for text in args.images:
        try:
            image = store.images.resolve(text)
            store.images.remove(image.id)
            print(f"Removed: {image.id}")
        except ShockerError as error:
            import sys

            print(error.message, file=sys.stderr)
            status = error.exit_code
    return status
