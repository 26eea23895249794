"""`shocker cp [-a] [-L] CONTAINER:SRC DEST|-` and `shocker cp [-a] [-L] SRC|- CONTAINER:DEST`:
files and directories between a container (running or not) and the host, or a tar stream."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("-a", "--archive", action="store_true", help="keep owners (uid/gid) of what is copied")
    add(
        "-L",
        "--follow-link",
        action="store_true",
        help="always follow a symbolic link in SRC (copy what it points to, under its name)",
    )
    add("source", metavar="SRC", help="CONTAINER:PATH, a host path, or - (a tar on stdin)")
    add("destination", metavar="DEST", help="CONTAINER:PATH, a host path, or - (tar on stdout)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store
    from shocker.engine.cp import copy

    store = open_store(settings, "cp")
    copy(store, args.source, args.destination, archive=args.archive, follow=args.follow_link)
    return 0
