"""`shocker tag SOURCE TARGET`: give an image another name (a name held elsewhere moves)."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SOURCE", help="image id, name or unique id prefix")
    parser.add_argument(
        "target", metavar="TARGET", help="NAME[:TAG], e.g. 127.0.0.1:5000/team/app:1"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store
    from shocker.engine.tag import image_name

    name = image_name(args.target)
    store = open_store(settings, "tag")
    image = store.images.resolve(args.source)
    store.images.tag(image.id, name)
    return 0
