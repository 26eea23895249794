"""`shocker rmi [-f] IMAGE...`: remove images by id or unique id prefix, or names.

A name goes alone (`Untagged: NAME`) while its image holds others; with the last one the
image goes too (`Removed: img-xxxxx`). An id removes the image and all its names. Then the
layers and blobs no other image uses are freed. An image a container was made from stays
(`-f`: unless that container runs).
"""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f", "--force", action="store_true", help="also images that stopped containers use"
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import for_each, open_store
    from shocker.engine.image_removal import remove_image, remove_name

    store = open_store(settings, "rmi")

    def remove(text: str) -> None:
        if not text.startswith("img-"):
            removed = remove_name(store, text, args.force)
            if removed is not None:
                print(f"Untagged: {removed.name}")
                if removed.image_removed:
                    print(f"Removed: {removed.image_id}")
                return
        image = store.images.resolve(text)
        remove_image(store, image, args.force)
        print(f"Removed: {image.id}")

    return for_each(args.images, remove)
