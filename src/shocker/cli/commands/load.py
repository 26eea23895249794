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
    from shocker.cli.context import open_store
    from shocker.cli.outfile import archive_input
    from shocker.engine.load import load

    store = open_store(settings, "load")
    refusal = "requested load from stdin, but stdin is a terminal"
    with archive_input(args.input, refusal, "use the -i flag or redirect") as source:
        images = load(store, source)
    for loaded in images:
        print(f"{'Created' if loaded.new else 'Loaded'}: {loaded.image.id}")
    return 0
