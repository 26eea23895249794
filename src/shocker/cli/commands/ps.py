"""`shocker ps`: every container, running or not (id first, command last, for scripts)."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-a", "--all", action="store_true", help="accepted; ps lists all")
    parser.add_argument("-q", "--quiet", action="store_true", help="print container ids only")
    parser.add_argument("--format", choices=["table", "json"], default="table")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store

    store = open_store(settings, "ps")
    records = sorted(store.containers.list(), key=lambda r: r.created, reverse=True)
    if args.quiet:
        for record in records:
            print(record.id)
        return 0
    from shocker.cli.status import ports_text, status_text

    if args.format == "json":
        import json

        from shocker.engine.status import is_running
        from shocker.record import asdict

        out = [{**asdict(r), "status": status_text(r), "running": is_running(r)} for r in records]
        print(json.dumps(out, indent=2))
        return 0
    from shocker.cli.output import print_table

    rows = [
        [
            r.id,
            r.image,
            status_text(r),
            ports_text(r.ports) or "-",
            r.name or "-",
            " ".join(r.command),
        ]
        for r in records
    ]
    print_table(["CONTAINER_ID", "IMAGE", "STATUS", "PORTS", "NAME", "COMMAND"], rows)
    return 0
