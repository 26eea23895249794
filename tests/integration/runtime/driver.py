"""A `shocker run` stand-in for tests that need a separate client process.

Usage: python driver.py START_JSON EVENTS_DIR; START_JSON (starts.to_json) holds config.json's
document, the host side, and may add "detach" and "exit_command". The callbacks leave files
in EVENTS_DIR (created, started: "pid supervisor", exit: "code signal"); the exit code is
start()'s.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from shocker.errors import RuntimeFailure
from shocker.oci import runtime_spec as rs
from shocker.runtime import launcher
from shocker.runtime.hostside import HostSide, LogSettings


def main() -> int:
    data = json.loads(sys.argv[1])
    events = Path(sys.argv[2])
    spec = rs.parse(data["config"])
    host = HostSide(
        log=LogSettings(path=Path(data["log_path"])), interactive=bool(data["interactive"])
    )

    def on_created(pid: int) -> None:
        (events / "created").write_text(str(pid))

    def on_started(pid: int, supervisor: int) -> None:
        (events / "started").write_text(f"{pid} {supervisor}")

    def on_exit(status: launcher.ExitStatus) -> None:
        (events / "exit").write_text(f"{status.exit_code} {status.signal}")

    try:
        return launcher.start(
            spec,
            host,
            detach=data.get("detach", False),
            on_created=on_created,
            on_started=on_started,
            on_exit=on_exit,
            exit_command=data.get("exit_command"),
        )
    except RuntimeFailure as failure:
        print(f"failure: {failure}", file=sys.stderr)
        return failure.exit_code


if __name__ == "__main__":
    sys.exit(main())
