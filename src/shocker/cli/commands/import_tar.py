"""`shocker import [-c CHANGE]... [-m MESSAGE] FILE|URL|- [NAME[:TAG]]`: a filesystem tar as a
one-layer image (`docker import`)."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--change",
        action="append",
        default=[],
        help="Dockerfile instruction to apply: CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE",
    )
    parser.add_argument("-m", "--message", help="a comment for the image's history")
    parser.add_argument(
        "file",
        metavar="FILE|URL|-",
        help="a tar (plain, gzip or zstd): a file, an http(s) URL, or - for stdin",
    )
    parser.add_argument("name", nargs="?", metavar="NAME[:TAG]", help="name the image")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store
    from shocker.cli.outfile import archive_input
    from shocker.engine.import_tar import import_tar, import_url, is_url

    store = open_store(settings, "import")
    if is_url(args.file):
        image = import_url(store, settings, args.file, args.name, args.change, args.message)
    else:
        path = None if args.file == "-" else args.file
        refusal = "import from stdin, but stdin is a terminal"
        with archive_input(path, refusal, "redirect it") as source:
            image = import_tar(store, source, args.name, args.change, args.message)
    print(f"Created: {image.id}")
    return 0
