"""`shocker rmi IMAGE...`: remove images (by id, name or unique id prefix)."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import for_each, open_store

    store = open_store(settings, "rmi")

    def remove(text: str) -> None:
        image = store.images.resolve(text)
        store.images.remove(image.id)
        print(f"Removed: {image.id}")

    return for_each(args.images, remove)
