"""Start failures: a named step whose OSError becomes a one-line RuntimeFailure."""

from __future__ import annotations

from collections.abc import Iterator

from shocker.errors import EXIT_ENGINE, RuntimeFailure
from shocker.leancontext import contextmanager


@contextmanager
def step(name: str, exit_code: int = EXIT_ENGINE) -> Iterator[None]:
    """Run a block as the step `name`: an OSError raises RuntimeFailure("name: reason")."""
    try:
        yield
    except OSError as error:
        raise RuntimeFailure(f"{name}: {error.strerror or error}", exit_code=exit_code) from None
