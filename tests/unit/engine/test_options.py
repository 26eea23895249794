"""Volume and environment flags, parsed before anything is created."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shocker.engine.options import parse_env, parse_volume
from shocker.errors import NotFound, UsageError


def test_host_path_volume_binds_to_the_given_container_path(tmp_path: Path) -> None:
    spec = parse_volume(f"{tmp_path}:/data:ro")
    assert (spec.source, spec.destination, spec.readonly, spec.named) == (
        str(tmp_path),
        "/data",
        True,
        False,
    )


def test_single_path_volume_binds_the_same_path_inside(tmp_path: Path) -> None:
    spec = parse_volume(str(tmp_path))
    assert spec.source == spec.destination == str(tmp_path)


def test_name_volume_is_a_named_volume() -> None:
    spec = parse_volume("cache:/var/cache")
    assert spec.named
    assert spec.source == "cache"


def test_missing_host_path_is_an_error_not_an_empty_dir(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        parse_volume(f"{tmp_path}/absent:/x")


@pytest.mark.parametrize("text", ["a:b:c:d", "/x:relative", "/x:/y:rw2", ":/x", "bad name:/x"])
def test_malformed_volume_specs_are_rejected(text: str) -> None:
    with pytest.raises((UsageError, NotFound)):
        parse_volume(text)


def test_env_flags_override_files_and_bare_keys_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("# comment\nA=from-file\nB=2\n")
    monkeypatch.setenv("FROM_HOST", "yes")
    monkeypatch.delenv("UNSET_VAR", raising=False)
    env = parse_env(["A=flag", "FROM_HOST", "UNSET_VAR"], [str(env_file)])
    assert env == ("A=from-file", "B=2", "A=flag", "FROM_HOST=yes")


def test_env_key_with_space_is_rejected() -> None:
    with pytest.raises(UsageError):
        parse_env(["A B=1"], [])


@pytest.mark.parametrize(
    ("text", "readonly", "nocopy"),
    [
        ("data:/srv", False, False),
        ("data:/srv:nocopy", False, True),
        ("data:/srv:ro,nocopy", True, True),
        ("data:/srv:ro", True, False),
    ],
)
def test_named_volume_options(text: str, readonly: bool, nocopy: bool) -> None:
    spec = parse_volume(text)
    assert (spec.named, spec.readonly, spec.nocopy) == (True, readonly, nocopy)


def test_volume_opt_nocopy_applies_to_named_volumes() -> None:
    assert parse_volume("data:/srv", nocopy=True).nocopy


@pytest.mark.parametrize("text", ["/tmp:/srv:nocopy", "data:/srv:ro,rw", "data:/srv:copy"])
def test_bad_volume_options_are_refused(text: str) -> None:
    with pytest.raises(UsageError):
        parse_volume(text)


def test_image_volumes_are_normalised_absolute_paths_in_order() -> None:
    from shocker.engine.create import image_volumes

    config: dict[str, Any] = {
        "config": {"Volumes": {"/var/lib/db/": {}, "relative": {}, "/": {}, "/data": {}}}
    }
    assert image_volumes(config) == ["/data", "/var/lib/db"]
    assert image_volumes({"config": {"Volumes": None}}) == []
