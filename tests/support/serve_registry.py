"""Start a local docker-registry holding the busybox test image and leave it running.

`python -m tests.support.serve_registry WORKDIR` prints `HOST PID`; the caller stops the
registry by that PID (scripts/demo.sh does, in its exit trap) and deletes WORKDIR.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support.images import push_busybox
from tests.support.push import Pusher
from tests.support.registry import start_registry


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.support.serve_registry WORKDIR", file=sys.stderr)
        return 2
    registry = start_registry(Path(argv[0]))
    try:
        with Pusher(registry.url) as pusher:
            push_busybox(pusher, "busybox")
    except BaseException:
        registry.stop()
        raise
    print(f"{registry.host} {registry.process.pid}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
