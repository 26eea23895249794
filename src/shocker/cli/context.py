"""What most commands need first: root, and the store."""

from __future__ import annotations

import os
from collections.abc import Callable

from shocker.errors import NotRoot
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.settings import Settings
    from shocker.store.store import Store


def require_root(command: str) -> None:
    if os.geteuid() != 0:
        raise NotRoot(f"shocker {command} must be run as root", hint="try 'sudo shocker ...'")


def open_store(settings: Settings, command: str) -> Store:
    """Root check, then the store (a clear error pointing to `shocker setup` if not btrfs)."""
    require_root(command)
    from shocker.store.store import Store

    return Store.open(settings)


def for_each(items: list[str], action: Callable[[str], None]) -> int:
    """Docker's way with several targets: each error is one line, the others still happen."""
    import sys

    from shocker.errors import ShockerError

    status = 0
    for item in items:
        try:
            action(item)
        except ShockerError as error:
            print(error.message, file=sys.stderr)
            status = error.exit_code
    return status
