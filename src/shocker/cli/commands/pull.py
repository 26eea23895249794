"""`shocker pull NAME[:TAG|@DIGEST]`: pull an image from a Registry v2."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("reference", help="image name: busybox, alpine:3.20, host:5000/a/b:tag")
    parser.add_argument(
        "--platform", help="os/arch[/variant] to pick from a multi-platform image (linux/arm64)"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store
    from shocker.cli.progress import PullProgress
    from shocker.engine.pull import pull
    from shocker.oci.platform import parse_platform
    from shocker.oci.reference import parse_reference
    from shocker.registry.client import RegistryClient

    ref = parse_reference(args.reference, settings.registry)
    platform = parse_platform(args.platform) if args.platform else None
    store = open_store(settings, "pull")
    client = RegistryClient(settings, challenges=store.layout.registry_challenges)
    with client, PullProgress() as progress:
        result = pull(store, client, ref, progress, platform)
    if result.created:
        print(f"Created: {result.image.id}")
    else:
        print(f"Image is up to date for {ref.familiar()}: {result.image.id}")
    return 0
