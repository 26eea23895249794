"""`shocker inspect NAME|ID...`: images and containers as JSON."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("targets", nargs="+", metavar="NAME|ID")
    parser.add_argument("--type", choices=["image", "container"], help="what to look for")


def run(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from shocker.cli.context import open_store
    from shocker.engine.describe import describe

    store = open_store(settings, "inspect")
    print(json.dumps([describe(store, t, args.type) for t in args.targets], indent=2))
    return 0
