"""The freezer of both drivers on this host's real hierarchies: frozen tasks stop running
(their state in /proc is stopped, a counter no longer advances), thawed they go on."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shocker.cgroups import detect
from shocker.cgroups.limits import Limits
from shocker.static import TYPE_CHECKING
from tests.integration.cgroups.conftest import CGROUP_ROOT

if TYPE_CHECKING:
    from shocker.cgroups.driver import Cgroup

# Prints a growing counter to its stdout file, forever.
COUNTER = (
    "import time\ni = 0\nwhile True:\n    i += 1\n    print(i, flush=True)\n    time.sleep(0.01)\n"
)


@pytest.fixture
def counter(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    out = tmp_path / "count"
    with out.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-c", COUNTER], stdout=sink)
    try:
        yield process, out
    finally:
        process.kill()
        process.wait()


def process_state(pid: int) -> str:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rfind(")") + 2]


def count(out: Path) -> int:
    lines = out.read_text().split()
    return int(lines[-1]) if lines else 0


def check_freezer(cgroup: Cgroup, process: subprocess.Popen[bytes], out: Path) -> None:
    cgroup.add_process(process.pid)
    time.sleep(0.1)
    cgroup.freeze()
    assert cgroup.is_frozen()
    frozen_at = count(out)
    time.sleep(0.3)
    assert count(out) == frozen_at
    assert process_state(process.pid) in ("D", "S", "T")
    cgroup.thaw()
    assert not cgroup.is_frozen()
    deadline = time.monotonic() + 10
    while count(out) == frozen_at and time.monotonic() < deadline:
        time.sleep(0.02)
    assert count(out) > frozen_at


def test_v1_freezer_stops_and_resumes_a_real_process(
    v1_parent: str, counter: tuple[subprocess.Popen[bytes], Path]
) -> None:
    process, out = counter
    cgroup = detect(CGROUP_ROOT).create(v1_parent, "c1", Limits())
    try:
        check_freezer(cgroup, process, out)
        assert (CGROUP_ROOT / "freezer" / v1_parent / "c1/freezer.state").read_text() == "THAWED\n"
        cgroup.freeze()
        assert (CGROUP_ROOT / "freezer" / v1_parent / "c1/freezer.state").read_text() == "FROZEN\n"
    finally:
        cgroup.remove()  # frozen: remove thaws so that the kill takes
    assert process.wait(timeout=10) == -9


def test_v2_freezer_stops_and_resumes_a_real_process(
    v2_root: Path, parent_name: str, counter: tuple[subprocess.Popen[bytes], Path]
) -> None:
    process, out = counter
    cgroup = detect(v2_root).create(parent_name, "c1", Limits())
    try:
        check_freezer(cgroup, process, out)
        directory = v2_root / parent_name / "c1"
        cgroup.freeze()
        assert (directory / "cgroup.freeze").read_text().strip() == "1"
        assert "frozen 1" in (directory / "cgroup.events").read_text()
    finally:
        cgroup.remove()
    assert process.wait(timeout=10) == -9
