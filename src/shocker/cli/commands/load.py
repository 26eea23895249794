"""`shocker load [-i FILE]`: images from a docker-archive or OCI archive (stdin by default)."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-i", "--input", help="read from FILE (default: stdin); gzip or zstd compressed too"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="accepted, as Docker's")


def run(args: argparse.Namespace, settings: Settings) -> int:
    import os
    import sys

    from shocker.cli.context import open_store
    from shocker.engine.load import load
    from shocker.errors import NotFound, UsageError

    store = open_store(settings, "load")
    if args.input is None:
        if os.isatty(0):
            raise UsageError(
                "requested load from stdin, but stdin is a terminal",
                hint="use the -i flag or redirect",
            )
        images = load(store, sys.stdin.buffer)
    else:
        try:
            source = open(args.input, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise NotFound(f"No file named '{args.input}' exists") from None
        except OSError as error:
            raise UsageError(f"cannot read {args.input}: {error.strerror}") from None
        with source:
            images = load(store, source)
    for loaded in images:
        print(f"{'Created' if loaded.new else 'Loaded'}: {loaded.image.id}")
    return 0
