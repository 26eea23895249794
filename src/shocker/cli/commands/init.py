"""`shocker init DIRECTORY`: import a directory as an image (like `docker import`)."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", help="a root filesystem to import")
    parser.add_argument("--name", help="also name the image (name[:tag])")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store
    from shocker.engine.init_image import import_directory

    store = open_store(settings, "init")
    image = import_directory(store, args.directory, args.name)
    print(f"Created: {image.id}")
    return 0
