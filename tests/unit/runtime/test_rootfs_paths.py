"""Masked-path patterns expand to the paths that exist."""

from __future__ import annotations

from pathlib import Path

from shocker.runtime.rootfs import expand_pattern


def test_a_star_component_expands_to_existing_paths_only(tmp_path: Path) -> None:
    for cpu in ("cpu0", "cpu1", "cpufreq"):
        (tmp_path / cpu).mkdir()
    (tmp_path / "cpu0" / "thermal_throttle").mkdir()
    (tmp_path / "cpu1" / "thermal_throttle").mkdir()
    assert expand_pattern(f"{tmp_path}/cpu*/thermal_throttle") == [
        f"{tmp_path}/cpu0/thermal_throttle",
        f"{tmp_path}/cpu1/thermal_throttle",
    ]


def test_a_plain_path_expands_to_itself_when_it_exists(tmp_path: Path) -> None:
    assert expand_pattern(str(tmp_path)) == [str(tmp_path)]
    assert expand_pattern(f"{tmp_path}/missing") == []
