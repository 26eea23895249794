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
    import os
    import sys

    from shocker.cli.context import open_store
    from shocker.engine.import_tar import import_tar, import_url, is_url
    from shocker.errors import NotFound, UsageError

    store = open_store(settings, "import")
    if is_url(args.file):
        image = import_url(store, settings, args.file, args.name, args.change, args.message)
    elif args.file == "-":
        if os.isatty(0):
            raise UsageError("import from stdin, but stdin is a terminal", hint="redirect it")
        image = import_tar(store, sys.stdin.buffer, args.name, args.change, args.message)
    else:
        try:
            source = open(args.file, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise NotFound(f"No file named '{args.file}' exists") from None
        except OSError as error:
            raise UsageError(f"cannot read {args.file}: {error.strerror}") from None
        with source:
            image = import_tar(store, source, args.name, args.change, args.message)
    print(f"Created: {image.id}")
    return 0
