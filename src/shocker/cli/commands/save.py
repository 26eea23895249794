"""`shocker save [-o FILE] [--format docker-archive|oci-archive] IMAGE...`: images as a tar."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", help="write to FILE (default: stdout)")
    parser.add_argument(
        "--format",
        choices=("docker-archive", "oci-archive"),
        default="docker-archive",
        help="docker-archive (what docker save writes; default) or an OCI image layout tar",
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image ids or names")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store
    from shocker.cli.outfile import archive_output
    from shocker.engine.save import plan_save, write_archive
    from shocker.store.btrfs import delete_subvolume
    from shocker.store.gc import creating
    from shocker.store.layers import scratch_path

    store = open_store(settings, "save")
    scratch = scratch_path(store.layout, "save")
    try:
        # The blobs read stay while they are (an rmi meanwhile frees nothing); every image is
        # resolved before the output is opened: a wrong name leaves no file.
        with creating(store.layout):
            plan = plan_save(store, args.images, scratch)
            with archive_output(args.output) as fd:
                write_archive(plan, fd, args.format, args.output or "stdout")
    finally:
        delete_subvolume(scratch)
    return 0
