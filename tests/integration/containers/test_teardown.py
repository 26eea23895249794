"""A teardown that cannot free something says so in one line and keeps it on the record
(`inspect` shows `teardown_errors`), instead of swallowing it."""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

from tests.support.prereqs import require
from tests.support.shocker import Shocker

# An OCI runtime whose `delete` fails: runc for everything else.
REFUSING_DELETE = """#!/bin/sh
for word in "$@"; do
  if [ "$word" = delete ]; then echo "delete refused on purpose" >&2; exit 1; fi
done
exec runc "$@"
"""


def _record(shocker: Shocker, name: str) -> dict[str, object]:
    data = json.loads(shocker("inspect", name).check().out)
    return data[0] if isinstance(data, list) else data  # type: ignore[no-any-return]


def test_failure_is_recorded_and_warned_once(
    shocker: Shocker, busybox_id: str, tmp_path: Path
) -> None:
    require(shutil.which("runc") is not None, "runc (apt-get install runc)")
    runtime = tmp_path / "runc-refusing-delete"
    runtime.write_text(REFUSING_DELETE)
    runtime.chmod(0o755)
    name = f"teardown-{secrets.token_hex(3)}"
    result = shocker("run", "--name", name, "--runtime", str(runtime), busybox_id, "true")
    container_id = str(_record(shocker, name)["id"])
    try:
        assert result.rc == 0, str(result)
        warnings = [line for line in result.err.splitlines() if line.startswith("warning:")]
        assert len(warnings) == 1, result.err
        assert "runtime:" in warnings[0] and "delete refused on purpose" in warnings[0]
        errors = _record(shocker, name)["teardown_errors"]
        assert isinstance(errors, list) and len(errors) == 1
        assert errors[0].startswith("runtime:") and "delete refused" in errors[0]
    finally:
        removed = shocker("rm", "-f", name)
        # What runc's refused delete would have freed: its cgroups beyond shocker's own.
        parent = shocker.env["SHOCKER_CGROUP_PARENT"]
        for directory in Path("/sys/fs/cgroup").glob(f"*/{parent}/{container_id}"):
            directory.rmdir()
        for directory in Path("/sys/fs/cgroup").glob(f"{parent}/{container_id}"):
            directory.rmdir()
    assert removed.rc == 0 and "warning:" in removed.err, str(removed)


def test_a_clean_teardown_records_none(shocker: Shocker, busybox_id: str) -> None:
    name = f"teardown-{secrets.token_hex(3)}"
    result = shocker("run", "--name", name, "--network", "none", busybox_id, "true")
    try:
        assert result.rc == 0 and "warning:" not in result.err, str(result)
        assert _record(shocker, name)["teardown_errors"] == []
    finally:
        shocker("rm", "-f", name)
