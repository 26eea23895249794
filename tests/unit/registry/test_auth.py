from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from shocker.errors import RegistryError
from shocker.oci.reference import HUB_REGISTRY, parse_reference
from shocker.registry.auth import (
    Challenge,
    credentials_for,
    docker_config_credentials,
    parse_www_authenticate,
)
from shocker.registry.client import RegistryClient
from shocker.registry.dockerconfig import Credentials
from shocker.settings import Settings
from tests.unit.registry.fakeserver import (
    FakeServer,
    Reply,
    Seen,
    make_image,
    publish,
    registry_error,
)


def test_a_docker_hub_bearer_challenge_parses() -> None:
    header = (
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/busybox:pull"'
    )
    assert parse_www_authenticate(header) == [
        Challenge(
            "bearer",
            {
                "realm": "https://auth.docker.io/token",
                "service": "registry.docker.io",
                "scope": "repository:library/busybox:pull",
            },
        )
    ]


def test_several_challenges_tokens_and_escapes_parse() -> None:
    header = 'Basic realm="a \\"quoted\\" realm", Bearer realm=http://x/token , error=invalid_token'
    assert parse_www_authenticate(header) == [
        Challenge("basic", {"realm": 'a "quoted" realm'}),
        Challenge("bearer", {"realm": "http://x/token", "error": "invalid_token"}),
    ]


def test_a_scope_with_commas_inside_quotes_stays_whole() -> None:
    [challenge] = parse_www_authenticate('Bearer scope="repository:a:pull,push"')
    assert challenge.params["scope"] == "repository:a:pull,push"


def test_garbage_challenges_do_not_crash() -> None:
    assert parse_www_authenticate("") == []
    assert [c.scheme for c in parse_www_authenticate('Negotiate abc==, "')] == ["negotiate"]


def _write_config(tmp_path: Path, auths: dict[str, dict[str, str]]) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": auths}))
    return path


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("key", "registry"),
    [
        ("127.0.0.1:5000", "127.0.0.1:5000"),
        ("https://127.0.0.1:5000", "127.0.0.1:5000"),
        ("http://reg.example.com/v2/", "reg.example.com"),
        ("https://index.docker.io/v1/", HUB_REGISTRY),
        ("docker.io", HUB_REGISTRY),
    ],
)
def test_docker_config_auth_entries_are_found_by_host(
    tmp_path: Path, key: str, registry: str
) -> None:
    path = _write_config(tmp_path, {key: {"auth": _b64("bob:pa:ss")}})
    assert docker_config_credentials(path, registry) == Credentials("bob", "pa:ss")


def test_docker_config_username_and_password_fields_work(tmp_path: Path) -> None:
    path = _write_config(tmp_path, {"h:1": {"username": "u", "password": "p"}})
    assert docker_config_credentials(path, "h:1") == Credentials("u", "p")


def test_docker_config_entries_for_other_hosts_are_not_used(tmp_path: Path) -> None:
    path = _write_config(tmp_path, {"other:5000": {"auth": _b64("u:p")}})
    assert docker_config_credentials(path, "127.0.0.1:5000") is None
    assert docker_config_credentials(tmp_path / "missing.json", "h") is None


def test_a_broken_docker_config_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{")
    with pytest.raises(RegistryError, match=str(path)):
        docker_config_credentials(path, "h")


def test_environment_credentials_win_over_the_docker_config(tmp_path: Path) -> None:
    path = _write_config(tmp_path, {"h": {"auth": _b64("file:user")}})
    env = Settings(registry_user="env", registry_pass="pw", docker_config=path)
    assert credentials_for(env, "h") == Credentials("env", "pw")
    assert credentials_for(Settings(docker_config=path), "h") == Credentials("file", "user")


class TokenRealm:
    """A registry route that wants `Bearer <token>`, and the realm that hands tokens out."""

    def __init__(
        self,
        server: FakeServer,
        body: dict[str, object],
        users: dict[str, str] | None = None,
    ) -> None:
        self.server = server
        self.body = body
        self.users = users
        self.issued = 0
        server.route("/token", self.token)

    def challenge(self, scope: str) -> str:
        return f'Bearer realm="{self.server.url}/token",service="fake",scope="{scope}"'

    def token(self, seen: Seen) -> Reply:
        if self.users is not None:
            sent = seen.headers.get("authorization", "")
            allowed = {"Basic " + _b64(f"{u}:{p}") for u, p in self.users.items()}
            if sent not in allowed:
                return Reply(
                    401, json.dumps({"details": "incorrect username or password"}).encode()
                )
        self.issued += 1
        body = {
            k: (f"{v}{self.issued}" if k in ("token", "access_token") else v)
            for k, v in self.body.items()
        }
        return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

    def guard(self, answer: Reply, valid: set[str], scope: str) -> None:
        """Make every route of the server demand one of the `valid` tokens."""
        for path, route in list(self.server.routes.items()):
            if path == "/token":
                continue

            def guarded(seen: Seen, route: object = route) -> Reply:
                if seen.headers.get("authorization", "").removeprefix("Bearer ") in valid:
                    assert isinstance(route, Reply) or callable(route)
                    return route if isinstance(route, Reply) else route(seen)
                return registry_error(
                    401,
                    "UNAUTHORIZED",
                    "authentication required",
                    **{"WWW-Authenticate": self.challenge(scope)},
                )

            self.server.route(path, guarded)


def _bearer_registry(
    registry: FakeServer, body: dict[str, object], users: dict[str, str] | None = None
) -> TokenRealm:
    publish(registry, "library/busybox", "latest", make_image([b"one", b"two"]))
    realm = TokenRealm(registry, body, users)
    realm.guard(Reply(), {"tok1", "tok2", "tok3"}, "repository:library/busybox:pull")
    return realm


def test_a_bearer_challenge_fetches_a_token_and_retries(
    client: RegistryClient, registry: FakeServer
) -> None:
    realm = _bearer_registry(registry, {"token": "tok", "expires_in": 300})
    resolved = client.resolve(parse_reference("busybox", registry.host))
    assert resolved.config.cmd == ("sh",)
    [asked] = registry.requests("/token")
    assert asked.query == {"service": ["fake"], "scope": ["repository:library/busybox:pull"]}
    assert "authorization" not in asked.headers
    # The token is reused for the config blob and the second manifest request.
    assert realm.issued == 1


def test_a_realm_with_its_own_query_keeps_it(client: RegistryClient, registry: FakeServer) -> None:
    realm = _bearer_registry(registry, {"token": "tok"})
    realm.challenge = lambda scope: f'Bearer realm="{registry.url}/token?tenant=t1"'  # type: ignore[method-assign]
    realm.guard(Reply(), {"tok1"}, "repository:library/busybox:pull")
    client.resolve(parse_reference("busybox", registry.host))
    [asked] = registry.requests("/token")
    assert asked.query == {"tenant": ["t1"], "scope": ["repository:library/busybox:pull"]}


def test_a_token_given_as_access_token_only_is_used(
    client: RegistryClient, registry: FakeServer
) -> None:
    _bearer_registry(registry, {"access_token": "tok"})
    assert client.resolve(parse_reference("busybox", registry.host)).manifest_digest


def test_a_token_the_registry_rejects_later_is_refreshed(
    client: RegistryClient, registry: FakeServer
) -> None:
    realm = _bearer_registry(registry, {"token": "tok", "expires_in": 300})
    ref = parse_reference("busybox", registry.host)
    client.resolve(ref)
    # The registry now only accepts a newer token (the first one was revoked).
    realm.guard(Reply(), {"tok2"}, "repository:library/busybox:pull")
    client.resolve(ref)
    assert realm.issued == 2


def test_a_token_without_expires_in_lives_sixty_seconds(
    client: RegistryClient, registry: FakeServer
) -> None:
    realm = _bearer_registry(registry, {"token": "tok"})
    ref = parse_reference("busybox", registry.host)
    client.resolve(ref)
    client.resolve(ref)
    assert realm.issued == 1


def test_credentials_go_to_the_token_realm_as_basic(tmp_path: Path, registry: FakeServer) -> None:
    realm = _bearer_registry(registry, {"token": "tok"}, users={"alice": "s3cret"})
    settings = Settings(
        registry=registry.host,
        registry_user="alice",
        registry_pass="s3cret",
        docker_config=tmp_path / "none.json",
    )
    with RegistryClient(settings, backoff=0.01) as client:
        client.resolve(parse_reference("busybox", registry.host))
    assert realm.issued == 1
    assert registry.requests("/token")[0].headers["authorization"] == "Basic " + _b64(
        "alice:s3cret"
    )


def test_wrong_credentials_for_a_token_are_a_clear_error(
    tmp_path: Path, registry: FakeServer
) -> None:
    _bearer_registry(registry, {"token": "tok"}, users={"alice": "s3cret"})
    settings = Settings(
        registry=registry.host,
        registry_user="alice",
        registry_pass="wrong",
        docker_config=tmp_path / "none.json",
    )
    with RegistryClient(settings, backoff=0.01) as client, pytest.raises(RegistryError) as caught:
        client.resolve(parse_reference("busybox", registry.host))
    assert caught.value.message.startswith(f"authentication failed for {registry.host}: ")
    assert "incorrect username or password" in caught.value.message


def test_anonymous_callers_refused_a_token_are_told_to_set_credentials(
    client: RegistryClient, registry: FakeServer
) -> None:
    _bearer_registry(registry, {"token": "tok"}, users={"alice": "s3cret"})
    with pytest.raises(RegistryError) as caught:
        client.resolve(parse_reference("busybox", registry.host))
    assert caught.value.message.startswith(f"authentication failed for {registry.host}")
    assert caught.value.hint is not None and "SHOCKER_REGISTRY_USER" in caught.value.hint


def test_a_token_that_does_not_grant_access_is_a_denial_naming_the_image(
    client: RegistryClient, registry: FakeServer
) -> None:
    realm = _bearer_registry(registry, {"token": "tok"})
    realm.guard(Reply(), set(), "repository:library/busybox:pull")
    with pytest.raises(RegistryError) as caught:
        client.resolve(parse_reference(f"{registry.host}/library/busybox"))
    assert caught.value.message == (
        f"access to {registry.host}/library/busybox:latest denied by {registry.host}: "
        "authentication required"
    )


def _basic_registry(registry: FakeServer, user: str, password: str) -> None:
    publish(registry, "app", "latest", make_image([b"layer"]))
    expected = "Basic " + _b64(f"{user}:{password}")
    for path, route in list(registry.routes.items()):

        def guarded(seen: Seen, route: object = route) -> Reply:
            if seen.headers.get("authorization") == expected:
                return route if isinstance(route, Reply) else route(seen)  # type: ignore[operator]
            return registry_error(
                401,
                "UNAUTHORIZED",
                "authentication required",
                **{"WWW-Authenticate": 'Basic realm="Registry Realm"'},
            )

        registry.route(path, guarded)


def test_basic_auth_sends_the_credentials_after_the_challenge(
    tmp_path: Path, registry: FakeServer
) -> None:
    _basic_registry(registry, "bob", "pw")
    config = _write_config(tmp_path, {registry.host: {"auth": _b64("bob:pw")}})
    with RegistryClient(
        Settings(registry=registry.host, docker_config=config), backoff=0.01
    ) as client:
        resolved = client.resolve(parse_reference(f"{registry.host}/app"))
    assert resolved.reference.repository == "app"
    # One anonymous try, then Basic on every request.
    first, *rest = registry.seen
    assert "authorization" not in first.headers
    assert all(s.headers["authorization"].startswith("Basic ") for s in rest)


def test_wrong_basic_credentials_are_a_clear_error(tmp_path: Path, registry: FakeServer) -> None:
    _basic_registry(registry, "bob", "pw")
    settings = Settings(
        registry=registry.host,
        registry_user="bob",
        registry_pass="nope",
        docker_config=tmp_path / "none.json",
    )
    with RegistryClient(settings, backoff=0.01) as client, pytest.raises(RegistryError) as caught:
        client.resolve(parse_reference(f"{registry.host}/app"))
    assert caught.value.message.startswith(
        f"authentication failed for {registry.host}: the user name or password was refused"
    )


def test_basic_auth_without_credentials_hints_at_the_variables(
    client: RegistryClient, registry: FakeServer
) -> None:
    _basic_registry(registry, "bob", "pw")
    with pytest.raises(RegistryError) as caught:
        client.resolve(parse_reference(f"{registry.host}/app"))
    assert "requires credentials" in caught.value.message
    assert caught.value.hint is not None and "SHOCKER_REGISTRY_PASS" in caught.value.hint


def test_a_401_without_a_challenge_is_an_authentication_error(
    client: RegistryClient, registry: FakeServer
) -> None:
    registry.route("/v2/app/manifests/latest", registry_error(401, "UNAUTHORIZED", "go away"))
    with pytest.raises(RegistryError, match=f"authentication failed for {registry.host}: go away"):
        client.resolve(parse_reference(f"{registry.host}/app"))


def test_a_remembered_challenge_is_answered_before_the_registry_asks(
    tmp_path: Path, registry: FakeServer
) -> None:
    realm = _bearer_registry(registry, {"token": "tok", "expires_in": 300})
    memo = tmp_path / "challenges.json"
    settings = Settings(root=tmp_path, registry=registry.host, docker_config=tmp_path / "no.json")
    ref = parse_reference("busybox", registry.host)
    path = "/v2/library/busybox/manifests/latest"
    with RegistryClient(settings, backoff=0.01, challenges=memo) as first:
        first.resolve(ref)
    assert len(registry.requests(path)) == 2  # a 401, then the answer
    assert json.loads(memo.read_text())[registry.host]["scheme"] == "bearer"
    with RegistryClient(settings, backoff=0.01, challenges=memo) as second:
        second.resolve(ref)
    later = registry.requests(path)[2:]
    assert len(later) == 1 and later[0].headers["authorization"] == "Bearer tok2"
    assert realm.issued == 2
    assert "tok1" not in memo.read_text()  # challenges only: never a token


def test_a_stale_remembered_challenge_falls_back_to_the_registrys_own(
    tmp_path: Path, registry: FakeServer
) -> None:
    _bearer_registry(registry, {"token": "tok"})
    memo = tmp_path / "challenges.json"
    gone = 'Bearer realm="http://127.0.0.1:1/token",service="old"'
    memo.write_text(json.dumps({registry.host: {"scheme": "bearer", "realm": gone}}))
    settings = Settings(root=tmp_path, registry=registry.host, docker_config=tmp_path / "no.json")
    with RegistryClient(settings, backoff=0.01, challenges=memo) as client:
        resolved = client.resolve(parse_reference("busybox", registry.host))
    assert resolved.config.cmd == ("sh",)
    assert json.loads(memo.read_text())[registry.host]["realm"] == f"{registry.url}/token"
