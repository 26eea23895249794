"""config.json credentials without a helper: Docker's form, other keys kept, mode 0600."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from shocker.errors import RegistryError
from shocker.registry.dockerconfig import (
    HUB_KEY,
    Credentials,
    erase_credentials,
    helper_for,
    store_credentials,
    stored_credentials,
)


def test_store_writes_dockers_form_and_keeps_other_keys(tmp_path: Path) -> None:
    path = tmp_path / "docker/config.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"auths": {"other:1": {"auth": "eDp5"}}, "psFormat": "x"}))

    store_credentials(path, "127.0.0.1:5000", Credentials("bob", "pa:ss"))

    doc = json.loads(path.read_text())
    assert doc["auths"]["127.0.0.1:5000"] == {"auth": base64.b64encode(b"bob:pa:ss").decode()}
    assert doc["auths"]["other:1"] == {"auth": "eDp5"} and doc["psFormat"] == "x"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stored_credentials(path, "127.0.0.1:5000") == Credentials("bob", "pa:ss")


def test_hub_uses_dockers_key_and_finds_its_aliases(tmp_path: Path) -> None:
    path = tmp_path / "config.json"

    store_credentials(path, "registry-1.docker.io", Credentials("u", "p"))

    assert list(json.loads(path.read_text())["auths"]) == [HUB_KEY]
    assert stored_credentials(path, "docker.io") == Credentials("u", "p")


def test_erase_removes_every_spelling_of_the_registry(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    auth = base64.b64encode(b"u:p").decode()
    path.write_text(json.dumps({"auths": {"https://h:1": {"auth": auth}, "k:2": {"auth": auth}}}))

    assert erase_credentials(path, "h:1") is True
    assert erase_credentials(path, "h:1") is False
    assert json.loads(path.read_text())["auths"] == {"k:2": {"auth": auth}}


def test_helpers_per_registry_win_over_the_store() -> None:
    doc = {"credsStore": "pass", "credHelpers": {"h:1": "ecr"}}
    assert helper_for(doc, "h:1") == "ecr"
    assert helper_for(doc, "other") == "pass"
    assert helper_for({}, "h:1") is None


def test_a_missing_helper_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"credsStore": "no-such-helper-here"}))

    with pytest.raises(RegistryError, match="docker-credential-no-such-helper-here is not on PATH"):
        stored_credentials(path, "h:1")


def test_credentials_never_show_the_password() -> None:
    assert "secret" not in repr(Credentials("u", "secret"))
