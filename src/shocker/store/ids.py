"""Random short ids (`img-xxxxx`, `ps-xxxxx`): 5 hex digits, never one already taken.

Callers hold `file_lock(layout.lock("ids"))` from `new_id` until the id is reserved on disk.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from shocker.errors import StorageError

ID_HEX_DIGITS = 5
_ATTEMPTS = 1000


def random_hex(digits: int = ID_HEX_DIGITS) -> str:
    # os.urandom is the source `secrets` uses; importing `secrets` costs ~15 ms at start-up.
    return f"{int.from_bytes(os.urandom(4), 'big') % 16**digits:0{digits}x}"


def new_id(prefix: str, taken: Callable[[str], bool]) -> str:
    """`prefix-xxxxx` for which `taken` is false; StorageError if the space looks exhausted."""
    for _ in range(_ATTEMPTS):
        candidate = f"{prefix}-{random_hex()}"
        if not taken(candidate):
            return candidate
    raise StorageError(f"cannot allocate a new {prefix} id: too many in use")
