"""Pulling from registries that want credentials: HTTP Basic (htpasswd) and bearer tokens."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.support.assertions import assert_one_line_error, pulled_layers
from tests.support.registry import AuthRegistry
from tests.support.shocker import Shocker


def _docker_config(directory: Path, host: str, user: str, password: str) -> Path:
    """A DOCKER_CONFIG directory whose config.json holds credentials, as `docker login` writes."""
    directory.mkdir()
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (directory / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    return directory


def _against(
    shocker: Shocker, auth: AuthRegistry, user: str | None, password: str | None
) -> Shocker:
    return shocker.with_env(
        SHOCKER_REGISTRY=auth.registry.host,
        SHOCKER_REGISTRY_USER=user,
        SHOCKER_REGISTRY_PASS=password,
    )


def test_basic_auth_with_credentials_from_the_environment(
    fresh_shocker: Shocker, basic_registry: AuthRegistry
) -> None:
    client = _against(fresh_shocker, basic_registry, basic_registry.user, basic_registry.password)

    result = client("pull", basic_registry.private.ref).check()

    assert pulled_layers(result) == list(basic_registry.private.short_layer_ids)
    result.created_id()


def test_basic_auth_with_credentials_from_docker_config(
    fresh_shocker: Shocker, basic_registry: AuthRegistry, tmp_path: Path
) -> None:
    config = _docker_config(
        tmp_path / "docker",
        basic_registry.registry.host,
        basic_registry.user,
        basic_registry.password,
    )
    client = _against(fresh_shocker, basic_registry, None, None).with_env(DOCKER_CONFIG=str(config))

    client("pull", basic_registry.private.ref).check().created_id()


def test_basic_auth_without_credentials_is_one_line(
    fresh_shocker: Shocker, basic_registry: AuthRegistry
) -> None:
    result = _against(fresh_shocker, basic_registry, None, None)("pull", basic_registry.private.ref)

    assert_one_line_error(result)
    assert fresh_shocker("images", "-q").check().out == ""


def test_basic_auth_with_a_wrong_password_is_one_line(
    fresh_shocker: Shocker, basic_registry: AuthRegistry
) -> None:
    client = _against(fresh_shocker, basic_registry, basic_registry.user, "wrong")

    assert_one_line_error(client("pull", basic_registry.private.ref))


def test_token_auth_with_credentials_fetches_a_token_for_that_user(
    fresh_shocker: Shocker, token_registry: AuthRegistry
) -> None:
    client = _against(fresh_shocker, token_registry, token_registry.user, token_registry.password)

    client("pull", token_registry.private.ref).check().created_id()

    assert token_registry.registry.tokens is not None
    users = {request.user for request in token_registry.registry.tokens.requests}
    assert token_registry.user in users


def test_token_auth_without_credentials_pulls_a_public_image(
    fresh_shocker: Shocker, token_registry: AuthRegistry
) -> None:
    assert token_registry.public is not None
    client = _against(fresh_shocker, token_registry, None, None)

    client("pull", token_registry.public.ref).check().created_id()


def test_token_auth_without_credentials_cannot_pull_a_private_image(
    fresh_shocker: Shocker, token_registry: AuthRegistry
) -> None:
    result = _against(fresh_shocker, token_registry, None, None)("pull", token_registry.private.ref)

    assert_one_line_error(result)


def test_token_auth_with_a_wrong_password_is_one_line(
    fresh_shocker: Shocker, token_registry: AuthRegistry
) -> None:
    client = _against(fresh_shocker, token_registry, token_registry.user, "wrong")

    assert_one_line_error(client("pull", token_registry.private.ref))


def test_token_auth_with_credentials_from_docker_config(
    fresh_shocker: Shocker, token_registry: AuthRegistry, tmp_path: Path
) -> None:
    config = _docker_config(
        tmp_path / "docker",
        token_registry.registry.host,
        token_registry.user,
        token_registry.password,
    )
    client = _against(fresh_shocker, token_registry, None, None).with_env(DOCKER_CONFIG=str(config))

    client("pull", token_registry.private.ref).check().created_id()
