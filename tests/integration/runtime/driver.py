"""A `shocker run` stand-in for tests that need a separate client process.

Usage: python driver.py SPEC_JSON EVENTS_DIR; the JSON may add "detach" and "exit_command".
The callbacks leave files in EVENTS_DIR (created, started: "pid supervisor", exit: "code
signal"); the exit code is start()'s.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from shocker.errors import RuntimeFailure
from shocker.runtime import launcher
from shocker.runtime.spec import ContainerSpec, Mount


def spec_from_json(data: dict[str, Any]) -> ContainerSpec:
    data = dict(data)
    data["rootfs"] = Path(data["rootfs"])
    data["log_path"] = Path(data["log_path"])
    for key in ("argv", "env"):
        data[key] = tuple(data[key])
    data["mounts"] = tuple(Mount(**m) for m in data.get("mounts", ()))
    return ContainerSpec(**data)


def main() -> int:
    data = json.loads(sys.argv[1])
    events = Path(sys.argv[2])
    detach = data.pop("detach", False)
    exit_command = data.pop("exit_command", None)
    spec = spec_from_json(data)

    def on_created(pid: int) -> None:
        (events / "created").write_text(str(pid))

    def on_started(pid: int, supervisor: int) -> None:
        (events / "started").write_text(f"{pid} {supervisor}")

    def on_exit(status: launcher.ExitStatus) -> None:
        (events / "exit").write_text(f"{status.exit_code} {status.signal}")

    try:
        return launcher.start(
            spec,
            detach=detach,
            on_created=on_created,
            on_started=on_started,
            on_exit=on_exit,
            exit_command=exit_command,
        )
    except RuntimeFailure as failure:
        print(f"failure: {failure}", file=sys.stderr)
        return failure.exit_code


if __name__ == "__main__":
    sys.exit(main())
