"""`shocker setup`: install missing host packages (btrfs-progs, iptables, iproute2) with
apt-get or dnf, then provision btrfs storage at SHOCKER_ROOT (a loop-mounted image file)."""

from __future__ import annotations

import argparse

from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check", action="store_true", help="only report what is missing; change nothing"
    )
    parser.add_argument(
        "--image-file", default="/var/shocker.img", help="the sparse file holding the filesystem"
    )
    parser.add_argument("--size", default="10G", help="size of the image file (default 10G)")
    parser.add_argument("--persist", action="store_true", help="add the mount to /etc/fstab")
    parser.add_argument(
        "--no-install",
        action="store_true",
        help="do not install missing host packages (btrfs-progs, iptables, iproute2); name them",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from shocker.store import provision

    if args.check:
        missing = provision.check(settings)
        for line in missing:
            print(f"missing: {line}")
        if not missing:
            print(f"ok: {settings.root} is ready")
        return 1 if missing else 0
    import os

    from shocker.cli.context import require_root

    provision.ensure_host_programs(not args.no_install and os.geteuid() == 0, print)
    require_root("setup")
    provision.provision(settings, Path(args.image_file), args.size, args.persist, print)
    from shocker.store.subids import add_setup_entries

    add_setup_entries(settings.subuid, settings.subgid, print)
    return 0
