"""`shocker images`: list images, as the original did (IMAGE_ID, SOURCE), one row per name."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", help="print image ids only")
    parser.add_argument("--format", choices=["table", "json"], default="table")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store

    images = sorted(open_store(settings, "images").images.list(), key=lambda i: i.created)
    if args.quiet:
        for image in images:
            print(image.id)  # once per image, whatever its names: `rmi $(images -q)` works
        return 0
    if args.format == "json":
        import json

        print(json.dumps([image.summary() for image in images], indent=2))
        return 0
    from shocker.cli.output import ago, print_table

    rows = [
        [image.id, name, ago(image.created)]
        for image in images
        for name in image.names or ["<none>"]
    ]
    print_table(["IMAGE_ID", "SOURCE", "CREATED"], rows)
    return 0
