"""argparse for the commands off the start path, with Docker's convention for usage errors."""

from __future__ import annotations

import argparse
import os
import sys

from shocker.errors import UsageError
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, NoReturn


def terminal_columns() -> int:
    """shutil.get_terminal_size().columns without importing shutil (bz2, lzma: ~1.5 ms)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class Formatter(argparse.HelpFormatter):
    """argparse's help formatter, given its width: add_argument builds one per argument, and
    without a width each would import shutil to ask the terminal."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        super().__init__(
            prog,
            indent_increment,
            max_help_position,
            terminal_columns() if width is None else width,
        )


class Parser(argparse.ArgumentParser):
    """argparse with Docker's convention: a usage error exits 125 in one line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}", hint=f"see '{self.prog} --help'")
