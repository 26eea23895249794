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
        host_ip = m.get("host_ip") or "0.0.0.0"
        print(f"{m['container_port']}/{m['protocol']} -> {host_ip}:{m['host_port']}")
    return 0
