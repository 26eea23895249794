"""`shocker export [-o FILE] CONTAINER`: a container's filesystem as a tar."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", help="write to FILE (default: stdout)")
    parser.add_argument("container", help="container id or name")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store
    from shocker.cli.outfile import archive_output
    from shocker.engine.export import export

    store = open_store(settings, "export")
    store.containers.resolve(args.container)  # a wrong name leaves no file
    with archive_output(args.output) as fd:
        export(store, args.container, fd, args.output or "stdout")
    return 0
