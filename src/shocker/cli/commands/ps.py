"""`shocker ps`: every container, running or not (id first, command last, for scripts)."""

from __future__ import annotations

from shocker.settings import Settings
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

    from shocker.cli.flags import FlagParser
    from shocker.parsed import Namespace
    from shocker.store.containers import ContainerRecord
    from shocker.store.store import Store

# Docker's `ps --format` fields and the header `table` prints for each.
HEADERS = {
    "ID": "CONTAINER ID",
    "Image": "IMAGE",
    "Command": "COMMAND",
    "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED",
    "Ports": "PORTS",
    "State": "STATE",
    "Status": "STATUS",
    "Names": "NAMES",
    "Labels": "LABELS",
    "Label": "LABEL",
    "Mounts": "MOUNTS",
    "Networks": "NETWORKS",
    "RestartCount": "RESTARTS",
}


def add_arguments(parser: FlagParser) -> None:
    parser.add_argument("-a", "--all", action="store_true", help="accepted; ps lists all")
    parser.add_argument("-q", "--quiet", action="store_true", help="print container ids only")
    parser.add_argument(
        "-f",
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="status=, label=K[=V], name=, ancestor=IMAGE, id= (different keys: all must match)",
    )
    parser.add_argument(
        "--format",
        default="table",
        help="table, json, or a template: '{{.ID}} {{.Names}}', 'table {{.ID}}\\t{{.Status}}'",
    )


def run(args: Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store

    store = open_store(settings, "ps")
    records = sorted(store.containers.list(), key=lambda r: r.created, reverse=True)
    if args.filter:
        records = _filtered(store, records, args.filter)
    if args.quiet:
        for record in records:
            print(record.id)
        return 0
    from shocker.cli.status import ports_text, status_text

    if args.format == "json":
        from shocker import leanjson
        from shocker.engine.status import is_running

        out = [{**r.to_json(), "status": status_text(r), "running": is_running(r)} for r in records]
        print(leanjson.dumps(out, indent=2))
        return 0
    if args.format != "table":
        import sys

        from shocker.cli.template import Template, render_all

        template = Template(args.format, HEADERS, list(HEADERS))
        sys.stdout.write(render_all(template, [template_fields(r) for r in records]))
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


def _filtered(store: Store, records: list[ContainerRecord], texts: list[str]) -> list[Any]:
    from shocker.engine.filters import matches, parse_filters
    from shocker.errors import ShockerError

    filters = parse_filters(texts)
    known: dict[str, set[str]] = {}

    def image_ids(text: str) -> set[str]:
        if text not in known:
            try:
                known[text] = {store.images.resolve(text).id}
            except ShockerError:
                known[text] = set()
        return known[text]

    return [r for r in records if matches(r, filters, image_ids)]


def template_fields(record: ContainerRecord) -> dict[str, Any]:
    """A container as Docker's `ps --format` fields."""
    import json

    from shocker.cli.output import ago
    from shocker.cli.status import ports_text, status_text
    from shocker.engine.status import state_name

    volumes = record.config.volumes
    return {
        "ID": record.id,
        "Image": record.image,
        "Command": json.dumps(" ".join(record.command)),
        "CreatedAt": record.created,
        "RunningFor": ago(record.created),
        "Ports": ports_text(record.ports),
        "State": state_name(record),
        "Status": status_text(record),
        "Names": record.name or "",
        "Labels": dict(record.labels),
        "Mounts": ",".join(v.volume or v.source for v in volumes),
        "Networks": record.config.network,
        "RestartCount": record.restart_count,
    }
