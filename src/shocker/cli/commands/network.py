"""`shocker network inspect|prune`: shocker's bridge, subnet, and each container's address."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["inspect", "prune"])


def run(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from shocker.cli.context import open_store
    from shocker.engine.status import is_running
    from shocker.network.config import NetworkConfig

    store = open_store(settings, "network")
    cfg = NetworkConfig.from_settings(settings, store.layout.network)
    if args.action == "prune":
        from shocker.errors import Conflict
        from shocker.network.bridge import prune

        running = [r.id for r in store.containers.list() if is_running(r) and r.network is not None]
        if running:
            raise Conflict(f"containers still use the bridge: {', '.join(running)}")
        for line in prune(cfg):
            print(line)
        return 0
    from shocker.store.container_config import network_json, ports_json

    containers = [
        {"id": r.id, "name": r.name, **network_json(r.network), "ports": ports_json(r.ports)}
        for r in store.containers.list()
        if is_running(r) and r.network is not None
    ]
    info = {
        "bridge": cfg.bridge,
        "gateway": str(cfg.gateway.ip),
        "subnet": str(cfg.gateway.network),
        "containers": containers,
    }
    print(json.dumps(info, indent=2))
    return 0
