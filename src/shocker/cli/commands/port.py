"""`shocker port CONTAINER`: the container's published ports."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("container")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store

    record = open_store(settings, "port").containers.resolve(args.container)
    for m in record.ports:
        print(f"{m.container_port}/{m.protocol} -> {m.host_ip or '0.0.0.0'}:{m.host_port}")
    return 0
