"""`shocker push NAME[:TAG]`: an image to the registry its name names (unqualified names go
to SHOCKER_REGISTRY when it is set, as pull does, else Docker Hub)."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "name", metavar="NAME[:TAG]", help="an image name held here: 127.0.0.1:5000/team/app:1"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store
    from shocker.cli.progress import PushProgress
    from shocker.engine.push import push
    from shocker.errors import UsageError
    from shocker.oci.reference import parse_reference
    from shocker.registry.client import RegistryClient

    if args.name.startswith("img-"):
        raise UsageError(
            f"push needs a name, not an id: '{args.name}'",
            hint=f"give it one first: shocker tag {args.name} NAME[:TAG]",
        )
    ref = parse_reference(args.name, settings.registry)
    store = open_store(settings, "push")
    client = RegistryClient(settings, challenges=store.layout.registry_challenges)
    with client, PushProgress() as progress:
        result = push(store, client, ref, args.name, progress)
    print(f"Pushed: {result.name}@{result.digest}")
    return 0
