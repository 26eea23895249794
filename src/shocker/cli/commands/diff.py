"""`shocker diff CONTAINER`: files added (A), changed (C) or deleted (D) against its image."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("container", metavar="CONTAINER")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store
    from shocker.engine.diff import container_changes

    store = open_store(settings, "diff")
    record = store.containers.resolve(args.container)
    for change in container_changes(store, record):
        print(f"{change.kind} {change.path}")
    return 0
