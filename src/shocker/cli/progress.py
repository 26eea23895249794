"""Pull and push progress: one `Pulling layer <digest>` (`Pushing layer`, `Layer <digest>
already exists`) line per layer, plus live bars on a terminal."""

from __future__ import annotations

import sys

# _thread rather than threading: the same lock, without threading's import on every `run`.
from _thread import allocate_lock
from types import TracebackType

from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


def short_digest(digest: str) -> str:
    return digest.partition(":")[2][:12]


class PullProgress:
    """Implements the engine's PullReporter; thread-safe (downloads run in parallel).

    The bars (rich) start only when a layer download starts, so a `run` that pulls nothing
    neither imports rich nor keeps a refresh thread alive while the container runs.
    """

    VERB = "Pulling layer"

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stdout
        self.lock = allocate_lock()
        self.bars: Any = None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> PullProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.finish()

    def finish(self) -> None:
        with self.lock:
            if self.bars is not None:
                self.bars.stop()
                self.bars = None
                self.tasks.clear()

    def _start_bars(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TransferSpeedColumn,
        )

        self.bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=Console(file=self.stream),
            transient=True,
        )
        self.bars.start()

    def layer_started(self, digest: str, size: int) -> None:
        with self.lock:
            if self.bars is None and self.stream.isatty():
                self._start_bars()
            if self.bars is not None:
                self.bars.console.print(
                    f"{self.VERB} {short_digest(digest)}", highlight=False, markup=False
                )
                self.tasks[digest] = self.bars.add_task(short_digest(digest), total=size)
            else:
                self.stream.write(f"{self.VERB} {short_digest(digest)}\n")
                self.stream.flush()

    def layer_progress(self, digest: str, nbytes: int) -> None:
        bars = self.bars
        if bars is not None and digest in self.tasks:
            bars.advance(self.tasks[digest], nbytes)

    def layer_done(self, digest: str) -> None:
        with self.lock:
            if self.bars is not None and digest in self.tasks:
                self.bars.remove_task(self.tasks.pop(digest))


class PushProgress(PullProgress):
    """Implements the engine's PushReporter."""

    VERB = "Pushing layer"

    def __enter__(self) -> PushProgress:
        return self

    def layer_exists(self, digest: str) -> None:
        with self.lock:
            line = f"Layer {short_digest(digest)} already exists"
            if self.bars is not None:
                self.bars.console.print(line, highlight=False, markup=False)
            else:
                self.stream.write(line + "\n")
                self.stream.flush()
