"""Where `save` and `export` write: a file created atomically with -o, else stdout."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def archive_output(path: str | None) -> Iterator[int]:
    """The descriptor an archive goes to: `path` (renamed into place only once complete, so
    a failure leaves no file), else stdout, never a terminal (Docker's rule)."""
    import sys

    from shocker.errors import UsageError

    if path is None:
        sys.stdout.flush()
        if os.isatty(1):
            raise UsageError(
                "cowardly refusing to write an archive to a terminal",
                hint="use the -o flag or redirect",
            )
        yield 1
        return
    from pathlib import Path

    from shocker.store.atomic import created_atomically

    with created_atomically(Path(path)) as fd:
        yield fd
