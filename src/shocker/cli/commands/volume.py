"""`shocker volume ls|create|rm|inspect|prune`: volumes kept across containers."""

from __future__ import annotations

import argparse

from shocker.settings import Settings
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.store.store import Store


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["ls", "create", "rm", "inspect", "prune"])
    parser.add_argument("names", nargs="*", metavar="NAME")
    parser.add_argument(
        "-a", "--all", action="store_true", help="prune: named volumes too, not only anonymous"
    )
    parser.add_argument("-f", "--force", action="store_true", help="prune: do not ask")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store
    from shocker.errors import Conflict, UsageError

    store = open_store(settings, "volume")
    if args.action == "prune":
        return _prune(args, store)
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
                if any(v.volume == name for v in r.config.volumes) and is_running(r)
            ]
            if users:
                raise Conflict(f"volume '{name}' is in use by {', '.join(users)}")
            store.volumes.remove(name)
            print(name)
    return 0


def _prune(args: argparse.Namespace, store: Store) -> int:
    from shocker.cli.pruning import cancelled, confirm, report
    from shocker.engine.prune import prune_volumes

    which = "all local volumes" if args.all else "anonymous local volumes"
    if not args.force and not confirm(
        f"WARNING! This will remove {which} not used by at least one container."
    ):
        return cancelled()
    report([("Deleted Volumes", prune_volumes(store, every=args.all))])
    return 0
