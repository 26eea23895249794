"""`shocker volume ls|create|rm|inspect`: named volumes kept across containers."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["ls", "create", "rm", "inspect"])
    parser.add_argument("names", nargs="*", metavar="NAME")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store
    from shocker.errors import Conflict, UsageError

    store = open_store(settings, "volume")
    if args.action == "ls":
        from shocker.cli.output import print_table

        print_table(
            ["VOLUME_NAME", "PATH"], [[n, str(store.volumes.path(n))] for n in store.volumes.list()]
        )
        return 0
    if not args.names:
        raise UsageError(f"shocker volume {args.action}: a volume name is required")
    if args.action == "create":
        for name in args.names:
            store.volumes.ensure(name)
            print(name)
    elif args.action == "inspect":
        import json

        print(
            json.dumps(
                [{"name": n, "path": str(store.volumes.path(n))} for n in args.names], indent=2
            )
        )
    else:
        from shocker.engine.status import is_running

        for name in args.names:
            users = [
                r.id
                for r in store.containers.list()
                if any(v.get("volume") == name for v in r.config.get("volumes", []))
                and is_running(r)
            ]
            if users:
                raise Conflict(f"volume '{name}' is in use by {', '.join(users)}")
            store.volumes.remove(name)
            print(name)
    return 0
