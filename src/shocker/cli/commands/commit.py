"""`shocker commit CONTAINER IMAGE`: a container's filesystem as an image.

IMAGE naming an existing image id replaces that image in place (a btrfs snapshot), as the
original did; otherwise a new image `name[:tag]` is created, as Docker does: the base
image's layers plus one layer of the container's changes.
"""

from __future__ import annotations

import argparse
import os

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--change",
        action="append",
        default=[],
        help="Dockerfile instruction to apply: CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE",
    )
    parser.add_argument("container")
    parser.add_argument("image", help="an existing image id to replace, or name[:tag]")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store
    from shocker.engine.commit import commit
    from shocker.oci.image_config import source_date_epoch

    store = open_store(settings, "commit")
    epoch = source_date_epoch(os.environ)
    image, replaced = commit(store, args.container, args.image, args.change, epoch)
    if replaced:
        print(f"Removed: {image.id}")
    print(f"Created: {image.id}")
    return 0
