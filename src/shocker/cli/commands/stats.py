"""`shocker stats [--no-stream] [--format json|TEMPLATE] [CONTAINER...]`: CPU, memory, network,
block I/O and pids of containers (the running ones when none is named), as Docker shows them."""

from __future__ import annotations

import argparse

from shocker.settings import Settings
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.engine.stats import Sample
    from shocker.store.containers import ContainerRecord
    from shocker.store.store import Store

# Docker's default stats table.
FIELDS = ("ID", "Name", "CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO", "PIDs")
HEADERS = {
    "ID": "CONTAINER ID",
    "Container": "CONTAINER",
    "Name": "NAME",
    "CPUPerc": "CPU %",
    "MemUsage": "MEM USAGE / LIMIT",
    "MemPerc": "MEM %",
    "NetIO": "NET I/O",
    "BlockIO": "BLOCK I/O",
    "PIDs": "PIDS",
}
INTERVAL_S = 1.0  # between the two samples CPU % needs, and between redraws


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--no-stream", action="store_true", help="print one reading and exit")
    add("-a", "--all", action="store_true", help="stopped containers too")
    add("--format", help="json, or a template such as 'table {{.Name}}\\t{{.CPUPerc}}'")
    add("containers", nargs="*", metavar="CONTAINER")


def run(args: argparse.Namespace, settings: Settings) -> int:
    import signal
    import sys
    import time

    from shocker.cli.context import open_store
    from shocker.cli.template import Template
    from shocker.engine.stats import sample

    template = None
    if args.format and args.format != "json":
        template = Template(args.format, HEADERS, tuple(HEADERS))
    store = open_store(settings, "stats")
    records = [store.containers.resolve(name) for name in args.containers]

    def chosen() -> list[ContainerRecord]:
        if args.containers:
            return [_fresh(store, r) for r in records]
        from shocker.engine.status import is_running

        listed = store.containers.list()
        return sorted((r for r in listed if args.all or is_running(r)), key=lambda r: r.created)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    before = {r.id: sample(settings, r) for r in chosen()}
    to_terminal = sys.stdout.isatty()
    try:
        while True:
            time.sleep(INTERVAL_S)
            current = {r.id: sample(settings, r) for r in chosen()}
            rows = [_cells(before.get(key), value) for key, value in current.items()]
            if to_terminal and not args.no_stream:
                sys.stdout.write("\033[2J\033[H")  # redraw in place, as Docker does
            _print(rows, args.format, template)
            sys.stdout.flush()
            if args.no_stream or (args.containers and not any(s.running for s in current.values())):
                return 0
            before = current
    except KeyboardInterrupt:
        return 0


def _fresh(store: Store, record: ContainerRecord) -> ContainerRecord:
    from shocker.errors import NotFound

    try:
        return store.containers.get(record.id)
    except NotFound:
        return record  # removed meanwhile: shown as not running


def _cells(before: Sample | None, current: Sample) -> dict[str, str]:
    from shocker.engine.stats import cpu_percent, memory_percent

    return {
        "ID": current.id,
        "Container": current.id,
        "Name": current.name,
        "CPUPerc": f"{cpu_percent(before, current):.2f}%",
        "MemUsage": f"{binary_size(current.memory_bytes)} / "
        f"{binary_size(current.memory_limit_bytes)}",
        "MemPerc": f"{memory_percent(current):.2f}%",
        "NetIO": f"{decimal_size(current.net_received_bytes)} / "
        f"{decimal_size(current.net_sent_bytes)}",
        "BlockIO": f"{decimal_size(current.block_read_bytes)} / "
        f"{decimal_size(current.block_write_bytes)}",
        "PIDs": str(current.pids),
    }


def _print(rows: list[dict[str, str]], fmt: str | None, template: object) -> None:
    import json
    import sys

    from shocker.cli.template import Template, render_all

    if fmt == "json":
        for row in rows:
            print(json.dumps(row, sort_keys=True))
        return
    if isinstance(template, Template):
        sys.stdout.write(render_all(template, rows))
        return
    from shocker.cli.output import print_table

    print_table([HEADERS[f] for f in FIELDS], [[row[f] for f in FIELDS] for row in rows])


def binary_size(size: float) -> str:
    """Docker's units.BytesSize: powers of 1024, four significant digits (12.3MiB)."""
    return _custom_size(size, 1024.0, ("B", "KiB", "MiB", "GiB", "TiB", "PiB"), 4)


def decimal_size(size: float) -> str:
    """Docker's units.HumanSizeWithPrecision(size, 3): powers of 1000 (1.23kB)."""
    return _custom_size(size, 1000.0, ("B", "kB", "MB", "GB", "TB", "PB"), 3)


def _custom_size(size: float, base: float, units: tuple[str, ...], digits: int) -> str:
    index = 0
    while size >= base and index < len(units) - 1:
        size /= base
        index += 1
    return f"{size:.{digits}g}{units[index]}"
