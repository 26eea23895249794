"""`shocker _finish ID CODE SIGNAL`: run by a detached container's monitor when pid 1 exits."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("container_id")
    parser.add_argument("exit_code", type=int)
    parser.add_argument("signal", type=int, nargs="?", default=0)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cgroups import detect
    from shocker.engine.launch import finish
    from shocker.store.store import Store

    store = Store.open(settings)
    cgroup = detect(settings.cgroup_root).open(settings.cgroup_parent, args.container_id)
    finish(store, settings, args.container_id, args.exit_code, cgroup)
    return 0
