"""The `shocker` command's start without site.py (-I -S), and site.py when it is needed."""

from __future__ import annotations

import os
import subprocess
import sys

import shocker

PACKAGE_ROOT = os.path.dirname(os.path.dirname(shocker.__file__))  # noqa: PTH120

PROBE = f"""
import sys
sys.path.append({PACKAGE_ROOT!r})
from shocker.cli.entry import site_on_demand
site_on_demand()
try:
    import nt  # a standard module that does not exist here: looked for, never found
except ImportError:
    pass
print("site" in sys.modules)
import pytest  # found only through site-packages
print("site" in sys.modules, pytest.__name__)
try:
    import no_such_module_anywhere
except ImportError:
    print("missing")
"""


def test_site_runs_only_for_a_module_outside_the_standard_library() -> None:
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[:3] == ["False", "True pytest", "missing"]


def test_with_site_already_there_nothing_is_added() -> None:
    code = f"import sys; sys.path.append({PACKAGE_ROOT!r}); n = len(sys.meta_path)\n"
    code += "from shocker.cli.entry import site_on_demand; site_on_demand()\n"
    code += "print(len(sys.meta_path) == n)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
