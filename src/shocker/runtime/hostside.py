"""What a container's start needs beside its runtime spec (config.json): how the host keeps
it — its log, the lock that tells it is alive, the caller's stdin — and the few things the
spec has no field for. The engine makes one per start (engine/launch.py)."""

from __future__ import annotations

from shocker.record import record
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from shocker.runtime.foreign import ForeignRuntime


@record(frozen=True, kw_only=True)
class LogSettings:
    path: Path
    driver: str = "raw"  # "json-file", "none", or "raw" (bytes as written)
    max_size: int | None = None  # json-file: rotate past this many bytes
    max_files: int = 1  # json-file: files kept, the current one included


@record(frozen=True, kw_only=True)
class HostSide:
    log: LogSettings
    # `-i`: the container reads the caller's stdin.
    interactive: bool = False
    # The supervisor holds an flock on it while the container runs (its liveness, as any
    # process that sees the store can tell).
    liveness_lock: Path | None = None
    # Compiled linux.seccomp programs, reused across starts.
    seccomp_cache: Path | None = None
    # `--init`: a static init on the host (tini-static) run as pid 1 from a sealed copy,
    # with process.args as its child (Docker's `docker-init --` prefix).
    init_path: str | None = None
    # Another OCI runtime runs the bundle instead of shocker's init.
    foreign: ForeignRuntime | None = None
