"""`shocker system df` and `shocker system prune [-a] [-f] [--volumes]`, as Docker's."""

from __future__ import annotations

import argparse

from shocker.settings import Settings
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.engine.disk_usage import UsageRow


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["df", "prune"])
    parser.add_argument(
        "-a", "--all", action="store_true", help="prune: every image no container uses"
    )
    parser.add_argument("-f", "--force", action="store_true", help="prune: do not ask")
    parser.add_argument(
        "--volumes", action="store_true", help="prune: also anonymous volumes no container uses"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store

    if args.action == "df":
        from shocker.cli.output import print_table
        from shocker.engine.disk_usage import disk_usage

        rows = disk_usage(open_store(settings, "system df"))
        table = [
            [row.kind, str(row.total), str(row.active), _size(row.size), _reclaimable(row)]
            for row in rows
        ]
        print_table(["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], table)
        return 0
    return system_prune(args, settings)


def _size(size: int) -> str:
    from shocker.cli.output import human_size

    return human_size(size, precision=4)


def _reclaimable(row: UsageRow) -> str:
    """`11.63MB (70%)` as Docker prints it; the build cache row has no percentage."""
    text = _size(row.reclaimable)
    if row.kind == "Build Cache" or row.size <= 0:
        return text
    return f"{text} ({row.reclaimable * 100 // row.size}%)"


def system_prune(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store
    from shocker.cli.pruning import cancelled, confirm, report
    from shocker.engine import prune

    store = open_store(settings, "system prune")
    removes = ["  - all stopped containers"]
    if args.volumes:
        removes.append("  - all anonymous volumes not used by at least one container")
    removes.append(
        "  - all images without at least one container associated to them"
        if args.all
        else "  - all dangling images"
    )
    removes.append("  - unused build cache")
    if not args.force and not confirm("WARNING! This will remove:\n" + "\n".join(removes) + "\n"):
        return cancelled()
    sections = [("Deleted Containers", prune.prune_containers(store, settings))]
    if args.volumes:
        sections.append(("Deleted Volumes", prune.prune_volumes(store, every=False)))
    sections.append(("Deleted Images", prune.prune_images(store, every=args.all)))
    sections.append(("Deleted build cache objects", prune.prune_build_cache(store)))
    report(sections)
    return 0
