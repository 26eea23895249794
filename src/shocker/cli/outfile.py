"""Where `save` and `export` write (a file created atomically with -o, else stdout), and
where `load` and `import` read (a file, else stdin)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import BinaryIO


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


@contextmanager
def archive_input(path: str | None, on_terminal: str, hint: str) -> Iterator[BinaryIO]:
    """What `load` and `import` read: the file `path` (a missing one named in the error),
    else stdin, never a terminal (`on_terminal` says so)."""
    import sys

    from shocker.errors import NotFound, UsageError

    if path is None:
        if os.isatty(0):
            raise UsageError(on_terminal, hint=hint)
        yield sys.stdin.buffer
        return
    try:
        source = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise NotFound(f"No file named '{path}' exists") from None
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    with source:
        yield source
