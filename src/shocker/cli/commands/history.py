"""`shocker history IMAGE`: the steps that made an image, newest first, one row per step."""

from __future__ import annotations

import argparse

from shocker.settings import Settings

CREATED_BY_WIDTH = 45  # Docker's truncation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", metavar="IMAGE", help="image id, name or unique id prefix")
    parser.add_argument("--no-trunc", action="store_true", help="do not shorten CREATED BY")
    parser.add_argument("-q", "--quiet", action="store_true", help="only the IMAGE column")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store
    from shocker.cli.output import ago, human_size, print_table
    from shocker.engine.history import history

    image = open_store(settings, "history").images.resolve(args.image)
    steps = history(image)
    ids = [image.id] + ["<missing>"] * (len(steps) - 1)  # as Docker: only the top is an image
    if args.quiet:
        for shown in ids:
            print(shown)
        return 0
    rows = []
    for shown, step in zip(ids, steps, strict=True):
        created_by = " ".join(step.created_by.split())
        if not args.no_trunc and len(created_by) > CREATED_BY_WIDTH:
            created_by = created_by[: CREATED_BY_WIDTH - 3] + "..."
        created = ago(step.created) if step.created else "<missing>"
        rows.append([shown, created, created_by or "-", human_size(step.size), step.comment])
    print_table(["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"], rows)
    return 0
