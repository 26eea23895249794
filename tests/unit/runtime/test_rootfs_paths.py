"""Container paths resolve under the rootfs, whatever symlinks the image holds."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shocker.errors import RuntimeFailure
from shocker.runtime.rootfs import expand_pattern, resolve_in_root


def test_plain_path_resolves_under_root(tmp_path: Path) -> None:
    assert resolve_in_root(str(tmp_path), "/etc/hosts") == f"{tmp_path}/etc/hosts"


def test_absolute_symlink_is_followed_inside_root(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "etc").symlink_to("/real")
    assert resolve_in_root(str(tmp_path), "/etc/hosts") == f"{tmp_path}/real/hosts"


def test_dotdot_cannot_climb_above_root(tmp_path: Path) -> None:
    (tmp_path / "escape").symlink_to("../../../../tmp")
    assert resolve_in_root(str(tmp_path), "/escape/x") == f"{tmp_path}/tmp/x"
    assert resolve_in_root(str(tmp_path), "/../../etc") == f"{tmp_path}/etc"


def test_symlink_loop_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(RuntimeFailure, match="symbolic links"):
        resolve_in_root(str(tmp_path), "/a/x")


components = st.sampled_from(["a", "b", "..", ".", "link", "abs", "x"])


@pytest.fixture(scope="module")
def hostile_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("root")
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "link").symlink_to("../../..")
    (root / "a" / "abs").symlink_to("/a/../../..")
    return str(root)


@given(parts=st.lists(components, max_size=8))
def test_every_resolved_path_stays_under_root(hostile_root: str, parts: list[str]) -> None:
    resolved = resolve_in_root(hostile_root, "/" + "/".join(parts))
    assert resolved == hostile_root or resolved.startswith(hostile_root + "/")
    assert ".." not in resolved.split("/")


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
