"""`shocker login [-u USER] [-p PASS | --password-stdin] [REGISTRY]` and `shocker logout
[REGISTRY]`: credentials checked against the registry, then kept in Docker's config.json
($DOCKER_CONFIG, default ~/.docker) or its credential helper."""

from __future__ import annotations

import argparse
import sys

from shocker.settings import Settings


def add_login_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-u", "--username", help="user name (asked for on a terminal)")
    parser.add_argument("-p", "--password", help="password (prefer --password-stdin)")
    parser.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    parser.add_argument(
        "registry", nargs="?", metavar="REGISTRY", help="host[:port] (default: Docker Hub)"
    )


def add_logout_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "registry", nargs="?", metavar="REGISTRY", help="host[:port] (default: Docker Hub)"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_login_arguments(parser)


def registry_host(text: str | None, settings: Settings) -> str:
    """What the user typed (`host:5000`, `https://host/`), SHOCKER_REGISTRY, or Docker Hub."""
    from shocker.errors import UsageError
    from shocker.oci.reference import HUB_REGISTRY

    if not text:
        return settings.registry or HUB_REGISTRY
    host = text.partition("://")[2] if "://" in text else text
    host = host.partition("/")[0]
    if not host or any(c.isspace() for c in host):
        raise UsageError(f"invalid registry '{text}'")
    if host in ("docker.io", "index.docker.io"):
        return HUB_REGISTRY
    return host


def _ask(prompt: str, secret: bool) -> str:
    from shocker.errors import UsageError

    if not sys.stdin.isatty():
        what = "password" if secret else "user name"
        raise UsageError(f"no {what} given and no terminal to ask on", hint="use -u and -p")
    if secret:
        import getpass

        return getpass.getpass(prompt)
    return input(prompt)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command_name == "logout":
        return logout(args, settings)
    from shocker.errors import UsageError
    from shocker.record import asdict
    from shocker.registry.client import RegistryClient
    from shocker.registry.dockerconfig import Credentials, store_credentials

    registry = registry_host(args.registry, settings)
    if args.password is not None and args.password_stdin:
        raise UsageError("--password and --password-stdin cannot be used together")
    if args.password_stdin and not args.username:
        raise UsageError("--password-stdin needs --username")
    username = args.username or _ask("Username: ", secret=False).strip()
    if args.password_stdin:
        password = sys.stdin.read().removesuffix("\n").removesuffix("\r")
    elif args.password is not None:
        password = args.password
        print("WARNING! Using --password on the command line is insecure: prefer "
              "--password-stdin.", file=sys.stderr)  # fmt: skip
    else:
        password = _ask("Password: ", secret=True)
    if not username or not password:
        raise UsageError("a user name and a password are needed")
    checking = Settings(
        **{**asdict(settings), "registry_user": username, "registry_pass": password}
    )
    with RegistryClient(checking, tries=2) as client:
        client.check_login(registry)
    store_credentials(settings.docker_config, registry, Credentials(username, password))
    print("Login Succeeded")
    return 0


def logout(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.registry.dockerconfig import erase_credentials

    registry = registry_host(args.registry, settings)
    if erase_credentials(settings.docker_config, registry):
        print(f"Removing login credentials for {registry}")
    else:
        print(f"Not logged in to {registry}")
    return 0
