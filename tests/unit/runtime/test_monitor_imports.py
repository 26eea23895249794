"""The monitor of a detached container starts a fresh interpreter (shocker.runtime.monitor):
what it imports, every running container pays for. This starts it as the supervisor does
(-S -I, the package's directory first on sys.path) and reads what it loaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import shocker

# enum and what comes with it (the `signal` module's enums), typing, contextlib, re.
HEAVY = frozenset({"signal", "enum", "functools", "collections", "typing", "contextlib", "re"})


def test_the_monitor_imports_nothing_heavy() -> None:
    source_root = str(Path(shocker.__file__).parent.parent)
    code = (
        f"import sys; sys.path[:0] = [{source_root!r}]; import shocker.runtime.monitor; "
        "print(' '.join(sorted(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-I", "-c", code], capture_output=True, text=True, check=True
    )
    modules = set(result.stdout.split())
    assert "shocker.runtime.monitor" in modules  # it really loaded
    assert not sorted(HEAVY & modules), f"the monitor imported {sorted(HEAVY & modules)}"
