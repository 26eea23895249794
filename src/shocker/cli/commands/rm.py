"""`shocker rm [-f] ID...`: remove containers, or images as the original allowed."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--force", action="store_true", help="kill a running container")
    parser.add_argument(
        "-v", "--volumes", action="store_true", help="also remove its anonymous volumes"
    )
    parser.add_argument("targets", nargs="+", metavar="CONTAINER|IMAGE")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import for_each, open_store
    from shocker.engine.lifecycle import remove
    from shocker.errors import NotFound

    store = open_store(settings, "rm")

    def remove_one(text: str) -> None:
        try:
            record = store.containers.resolve(text)
        except NotFound:
            if not text.startswith("img-"):
                raise
            from shocker.engine.image_removal import remove_image

            image = store.images.resolve(text)
            remove_image(store, image, args.force)
            print(f"Removed: {image.id}")
            return
        remove(store, settings, record, args.force, volumes=args.volumes)
        print(f"Removed: {record.id}")

    return for_each(args.targets, remove_one)
