"""`shocker login` / `logout`: credentials checked against the registry (Basic and token),
kept in Docker's config.json form (skopeo reads them) or in a credential helper
(docker-credential-pass), and used by pull and push."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.assertions import assert_one_line_error
from tests.support.catalog import ImageSet
from tests.support.podman import skopeo_inspect
from tests.support.registry import AuthRegistry
from tests.support.shocker import Shocker


@pytest.fixture
def docker_config(tmp_path: Path) -> Path:
    """A DOCKER_CONFIG directory of this test's own, with a key shocker must keep."""
    directory = tmp_path / "docker"
    directory.mkdir()
    (directory / "config.json").write_text(json.dumps({"HttpHeaders": {"X-Kept": "yes"}}))
    return directory


@pytest.fixture(params=["basic", "token"])
def auth(request: pytest.FixtureRequest) -> AuthRegistry:
    registry: AuthRegistry = request.getfixturevalue(f"{request.param}_registry")
    return registry


def test_login_checks_and_keeps_credentials_as_docker_does(
    fresh_shocker: Shocker, auth: AuthRegistry, docker_config: Path, images: ImageSet
) -> None:
    host = auth.registry.host
    shocker = fresh_shocker.with_env(DOCKER_CONFIG=str(docker_config))

    result = shocker(
        "login", "-u", auth.user, "--password-stdin", host, input=auth.password + "\n"
    ).check()

    assert result.lines == ["Login Succeeded"]
    assert auth.password not in result.out + result.err
    config_file = docker_config / "config.json"
    config = json.loads(config_file.read_text())
    expected = base64.b64encode(f"{auth.user}:{auth.password}".encode()).decode()
    assert config["auths"][host] == {"auth": expected}
    assert config["HttpHeaders"] == {"X-Kept": "yes"}
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    # skopeo reads what was written; shocker pulls and pushes with it.
    inspected = skopeo_inspect(f"{host}/{auth.private.ref}", "--authfile", str(config_file))
    assert inspected["Digest"] == auth.private.digest
    shocker("pull", f"{host}/{auth.private.ref}").check()
    shocker("tag", f"{host}/{auth.private.ref}", f"{host}/private/after-login:1").check()
    shocker("push", f"{host}/private/after-login:1").check()


def test_wrong_credentials_store_nothing_and_never_show_the_password(
    fresh_shocker: Shocker, auth: AuthRegistry, docker_config: Path
) -> None:
    before = (docker_config / "config.json").read_bytes()
    shocker = fresh_shocker.with_env(DOCKER_CONFIG=str(docker_config))
    wrong = "wrong-" + auth.password

    result = shocker("login", "-u", auth.user, "-p", wrong, auth.registry.host)

    assert result.rc != 0
    errors = [line for line in result.err.splitlines() if not line.startswith("WARNING!")]
    assert len(errors) == 1 and auth.registry.host in errors[0], str(result)
    assert "password" in errors[0] and "Traceback" not in result.err
    assert wrong not in result.out + result.err
    assert (docker_config / "config.json").read_bytes() == before


def test_logout_removes_the_credentials(
    fresh_shocker: Shocker, basic_registry: AuthRegistry, docker_config: Path
) -> None:
    host = basic_registry.registry.host
    shocker = fresh_shocker.with_env(DOCKER_CONFIG=str(docker_config))
    shocker("login", "-u", basic_registry.user, "-p", basic_registry.password, host).check()

    assert shocker("logout", host).check().lines == [f"Removing login credentials for {host}"]

    config = json.loads((docker_config / "config.json").read_text())
    assert host not in config.get("auths", {})
    assert config["HttpHeaders"] == {"X-Kept": "yes"}
    assert_one_line_error(shocker("pull", f"{host}/{basic_registry.private.ref}"), host)
    assert shocker("logout", host).check().lines == [f"Not logged in to {host}"]


def test_credentials_podman_wrote_are_used(
    fresh_shocker: Shocker, token_registry: AuthRegistry, docker_config: Path
) -> None:
    host = token_registry.registry.host
    config_file = docker_config / "config.json"
    subprocess.run(
        ["podman", "login", "--tls-verify=false", "--authfile", str(config_file),
         "-u", token_registry.user, "--password-stdin", host],
        input=token_registry.password, text=True, capture_output=True, check=True,
    )  # fmt: skip
    shocker = fresh_shocker.with_env(DOCKER_CONFIG=str(docker_config))

    shocker("pull", f"{host}/{token_registry.private.ref}").check()


@dataclass(frozen=True)
class PassStore:
    """docker-credential-pass's world: a gpg key without passphrase and a password store."""

    gnupg: Path
    store: Path

    @property
    def env(self) -> dict[str, str]:
        return {"GNUPGHOME": str(self.gnupg), "PASSWORD_STORE_DIR": str(self.store)}

    def listed(self) -> dict[str, str]:
        done = subprocess.run(
            ["docker-credential-pass", "list"],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            check=True,
        )
        listed: dict[str, str] = json.loads(done.stdout or "{}")
        return listed


@pytest.fixture
def pass_store() -> Iterator[PassStore]:
    base = Path(tempfile.mkdtemp(prefix="shkgpg-"))  # short: gpg-agent's socket path
    store = PassStore(base / "gnupg", base / "store")
    store.gnupg.mkdir(mode=0o700)
    env = {**os.environ, **store.env}
    try:
        subprocess.run(
            ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "shocker-test@localhost",
             "default", "default", "never"],
            env=env, capture_output=True, check=True,
        )  # fmt: skip
        keys = subprocess.run(
            ["gpg", "--list-keys", "--with-colons"], env=env, capture_output=True, text=True
        ).stdout
        fingerprint = next(line.split(":")[9] for line in keys.splitlines() if line[:3] == "fpr")
        subprocess.run(["pass", "init", fingerprint], env=env, capture_output=True, check=True)
        yield store
    finally:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(["gpgconf", "--kill", "all"], env=env, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_a_credential_helper_keeps_them_when_configured(
    fresh_shocker: Shocker, basic_registry: AuthRegistry, docker_config: Path, pass_store: PassStore
) -> None:
    host = basic_registry.registry.host
    config_file = docker_config / "config.json"
    config_file.write_text(json.dumps({"credsStore": "pass"}))
    shocker = fresh_shocker.with_env(DOCKER_CONFIG=str(docker_config), **pass_store.env)

    shocker("login", "-u", basic_registry.user, "-p", basic_registry.password, host).check()

    assert pass_store.listed() == {host: basic_registry.user}
    config = json.loads(config_file.read_text())
    assert config == {"credsStore": "pass", "auths": {host: {}}}
    assert basic_registry.password not in config_file.read_text()
    shocker("pull", f"{host}/{basic_registry.private.ref}").check()

    shocker("logout", host).check()

    assert pass_store.listed() == {}
    assert_one_line_error(shocker("pull", f"{host}/{basic_registry.private.ref}"), host)
