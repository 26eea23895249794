"""`shocker build [-t NAME[:TAG]]... [-f DOCKERFILE] CONTEXT_DIR`: an image from a Dockerfile.

One `STEP N/M: INSTRUCTION` line per step as it starts (`--> Using cache` when reused), the
steps' own output, then `Created: img-xxxxx` as the last line.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from shocker.errors import NotFound, UsageError
from shocker.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-t",
        "--tag",
        action="append",
        default=[],
        metavar="NAME[:TAG]",
        help="name the image (repeatable; a name held elsewhere moves here)",
    )
    parser.add_argument(
        "-f",
        "--file",
        metavar="DOCKERFILE",
        help="the Dockerfile (default CONTEXT_DIR/Dockerfile; - reads stdin)",
    )
    parser.add_argument(
        "--build-arg",
        action="append",
        default=[],
        metavar="KEY[=VALUE]",
        help="a value for an ARG (KEY alone: from this environment)",
    )
    parser.add_argument("--no-cache", action="store_true", help="run every step again")
    parser.add_argument("--target", metavar="STAGE", help="build up to this stage")
    parser.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a label on the image (wins over a LABEL of the same key)",
    )
    parser.add_argument(
        "--network",
        default="bridge",
        choices=("bridge", "none", "host"),
        help="the network of RUN steps (default bridge)",
    )
    parser.add_argument("context", metavar="CONTEXT_DIR", help="the files COPY and ADD can use")


def _pairs(items: list[str], flag: str, from_env: bool) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not key:
            raise UsageError(f"invalid {flag} '{item}': use KEY=VALUE")
        if sep:
            values[key] = value
        elif from_env:
            if key in os.environ:
                values[key] = os.environ[key]
        else:
            values[key] = ""
    return values


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        raise NotFound(f"{what} '{path}' does not exist") from None
    except IsADirectoryError:
        raise UsageError(f"{what} '{path}' is a directory") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {what} '{path}': {error}") from None


def run(args: argparse.Namespace, settings: Settings) -> int:
    from shocker.cli.context import open_store
    from shocker.cli.progress import PullProgress
    from shocker.engine.build.builder import BuildOptions, build
    from shocker.engine.tag import image_name
    from shocker.oci.image_config import source_date_epoch

    context = Path(args.context)
    if not context.is_dir():
        raise NotFound(f"the build context '{args.context}' is not a directory")
    tags = [image_name(tag) for tag in args.tag]
    if args.file == "-":
        dockerfile, ignore_file = sys.stdin.read(), None
    else:
        path = Path(args.file) if args.file else context / "Dockerfile"
        dockerfile = _read(path, "Dockerfile")
        ignore_file = path.with_name(path.name + ".dockerignore")
    ignore = ""
    for candidate in (ignore_file, context / ".dockerignore"):
        if candidate is not None and candidate.is_file():
            ignore = _read(candidate, ".dockerignore")
            break
    store = open_store(settings, "build")
    options = BuildOptions(
        context=context.resolve(),
        dockerfile=dockerfile,
        ignore=ignore,
        tags=tuple(tags),
        build_args=_pairs(args.build_arg, "--build-arg", from_env=True),
        no_cache=args.no_cache,
        target=args.target,
        labels=_pairs(args.label, "--label", from_env=False),
        network=args.network,
        epoch=source_date_epoch(os.environ),
    )

    def say(line: str) -> None:
        print(line, flush=True)

    with PullProgress(sys.stderr) as progress:
        result = build(store, settings, options, progress, say)
    if tags:
        store.images.tag(result.image_id, *tags)  # each name moves here from any other image
    print(f"Created: {result.image_id}")
    return 0
