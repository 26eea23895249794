"""`shocker rename OLD NEW`: give a container a new name."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("new_name", metavar="NEW_NAME")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store

    store = open_store(settings, "rename")
    record = store.containers.resolve(args.container)
    store.containers.rename(record.id, args.new_name)
    return 0
