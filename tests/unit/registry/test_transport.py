from __future__ import annotations

from pathlib import Path

import pytest

from shocker.errors import RegistryError
from shocker.oci.manifest import Descriptor
from shocker.oci.reference import HUB_REGISTRY, parse_reference
from shocker.registry.client import RegistryClient
from shocker.registry.http import HTTPError
from shocker.registry.transport import Transport, is_loopback, scheme_for
from shocker.settings import Settings
from tests.unit.registry.fakeserver import (
    FakeServer,
    Reply,
    blob_handler,
    make_image,
    publish,
    registry_error,
    sha,
)


@pytest.mark.parametrize(
    ("registry", "scheme"),
    [
        ("127.0.0.1:5000", "http"),
        ("127.3.4.5", "http"),
        ("localhost:5000", "http"),
        ("[::1]:5000", "http"),
        ("::1", "http"),
        ("registry-1.docker.io", "https"),
        ("10.0.0.1:5000", "https"),
        ("128.0.0.1", "https"),
        ("mirror.lan:5000", "http"),
        ("mirror.lan:6000", "https"),
        ("plain.lan:7000", "http"),
    ],
)
def test_plain_http_only_for_loopback_and_listed_registries(registry: str, scheme: str) -> None:
    assert scheme_for(registry, ("mirror.lan:5000", "plain.lan")) == scheme


def test_a_certs_d_directory_makes_even_loopback_speak_tls(tmp_path: Path) -> None:
    (tmp_path / "127.0.0.1:5000").mkdir()
    assert scheme_for("127.0.0.1:5000", (), tmp_path) == "https"
    assert scheme_for("127.0.0.1:5001", (), tmp_path) == "http"
    assert scheme_for("mirror.lan:5000", ("mirror.lan:5000",), tmp_path) == "http"


def test_settings_read_the_ca_and_certs_d() -> None:
    settings = Settings.from_env({"SHOCKER_CA_CERT": "/x/ca.pem", "SHOCKER_CERTS_D": "/y"})
    assert (settings.ca_cert, settings.certs_d) == (Path("/x/ca.pem"), Path("/y"))
    defaults = Settings.from_env({})
    assert (defaults.ca_cert, defaults.certs_d) == (None, Path("/etc/shocker/certs.d"))


def test_localhost_names_are_loopback() -> None:
    assert is_loopback("localhost") and is_loopback("app.localhost:80")
    assert not is_loopback("localhost.example.com")


def test_a_503_then_success_is_retried(client: RegistryClient, registry: FakeServer) -> None:
    image = make_image([b"layer"])
    publish(registry, "library/busybox", "latest", image)
    path = "/v2/library/busybox/manifests/latest"
    ok = registry.routes[path]
    assert isinstance(ok, Reply)
    registry.route(path, [registry_error(503, "UNAVAILABLE", "busy"), ok])
    resolved = client.resolve(parse_reference("busybox", registry.host))
    assert resolved.manifest_digest == image.digest
    assert len(registry.requests(path)) == 2


def test_a_429_is_retried_after_the_delay_the_registry_asks(
    client: RegistryClient, registry: FakeServer
) -> None:
    image = make_image([b"layer"])
    publish(registry, "x/y", "1", image)
    path = "/v2/x/y/manifests/1"
    ok = registry.routes[path]
    assert isinstance(ok, Reply)
    slow_down = registry_error(429, "TOOMANYREQUESTS", "slow down", **{"Retry-After": "0"})
    registry.route(path, [slow_down, slow_down, ok])
    assert client.resolve(parse_reference("x/y:1", registry.host)).manifest_digest == image.digest
    assert len(registry.requests(path)) == 3


def test_retries_are_bounded_and_the_error_names_the_registry_and_reason(
    client: RegistryClient, registry: FakeServer
) -> None:
    path = "/v2/x/y/manifests/1"
    registry.route(path, registry_error(503, "UNAVAILABLE", "backend on fire"))
    with pytest.raises(RegistryError) as caught:
        client.resolve(parse_reference("x/y:1", registry.host))
    assert registry.host in caught.value.message
    assert "backend on fire" in caught.value.message
    assert len(registry.requests(path)) == 4


def test_an_unreachable_registry_is_one_error_naming_it(tmp_path: Path) -> None:
    closed = FakeServer("127.0.0.1")
    host = closed.host
    closed.close()
    settings = Settings(root=tmp_path, registry=host, docker_config=tmp_path / "none.json")
    with RegistryClient(settings, backoff=0.01) as client, pytest.raises(RegistryError) as caught:
        client.resolve(parse_reference("busybox", host))
    assert caught.value.message.startswith(f"cannot reach {host}: ")
    assert caught.value.hint is None


def test_docker_hub_unreachable_hints_at_shocker_registry(tmp_path: Path) -> None:
    transport = Transport(Settings(root=tmp_path))
    try:
        error = transport.unreachable(
            HUB_REGISTRY, HTTPError("Name or service not known", f"https://{HUB_REGISTRY}/v2/")
        )
    finally:
        transport.close()
    assert error.message == f"cannot reach {HUB_REGISTRY}: Name or service not known"
    assert error.hint is not None and "SHOCKER_REGISTRY" in error.hint


def test_with_shocker_registry_set_the_hub_hint_is_not_given(tmp_path: Path) -> None:
    transport = Transport(Settings(root=tmp_path, registry="127.0.0.1:1"))
    try:
        error = transport.unreachable("127.0.0.1:1", HTTPError("refused", "http://127.0.0.1:1/v2/"))
    finally:
        transport.close()
    assert error.hint is None


def _cdn_redirect(registry: FakeServer, cdn: FakeServer, data: bytes, path: str) -> None:
    cdn.route("/signed/blob", blob_handler(data))
    registry.route(path, Reply(307, headers={"Location": f"{cdn.url}/signed/blob?sig=abc"}))


def test_a_redirect_to_another_host_does_not_carry_the_authorization(
    tmp_path: Path, registry: FakeServer, cdn: FakeServer
) -> None:
    data = b"layer bytes " * 1000
    path = f"/v2/app/blobs/{sha(data)}"
    _cdn_redirect(registry, cdn, data, path)
    registry.route("/v2/app/manifests/latest", Reply(200, b"{}"))
    settings = Settings(
        root=tmp_path,
        registry=registry.host,
        registry_user="alice",
        registry_pass="secret",
        docker_config=tmp_path / "none.json",
    )
    # The registry wants Basic auth; the blob then redirects to the CDN.
    challenge = registry_error(
        401, "UNAUTHORIZED", "auth", **{"WWW-Authenticate": 'Basic realm="r"'}
    )
    redirect = registry.routes[path]
    assert isinstance(redirect, Reply)
    registry.route(path, [challenge, redirect])
    ref = parse_reference(f"{registry.host}/app")
    with RegistryClient(settings, backoff=0.01) as client:
        client.fetch_blob(ref, Descriptor("x", sha(data), len(data)), tmp_path / "blob")
    assert (tmp_path / "blob").read_bytes() == data
    assert registry.requests(path)[-1].headers["authorization"].startswith("Basic ")
    assert "authorization" not in cdn.requests("/signed/blob")[0].headers
    assert cdn.requests("/signed/blob")[0].query == {"sig": ["abc"]}


def test_a_redirect_on_the_same_host_keeps_the_authorization(
    tmp_path: Path, registry: FakeServer
) -> None:
    data = b"same host"
    path = f"/v2/app/blobs/{sha(data)}"
    registry.route("/elsewhere", blob_handler(data))
    challenge = registry_error(
        401, "UNAUTHORIZED", "auth", **{"WWW-Authenticate": 'Basic realm="r"'}
    )
    registry.route(path, [challenge, Reply(302, headers={"Location": "/elsewhere"})])
    settings = Settings(
        root=tmp_path, registry_user="a", registry_pass="b", docker_config=tmp_path / "none.json"
    )
    with RegistryClient(settings, backoff=0.01) as client:
        client.fetch_blob(
            parse_reference(f"{registry.host}/app"),
            Descriptor("x", sha(data), len(data)),
            tmp_path / "blob",
        )
    assert registry.requests("/elsewhere")[0].headers["authorization"].startswith("Basic ")


def test_endless_redirects_are_an_error(client: RegistryClient, registry: FakeServer) -> None:
    registry.route(
        "/v2/loop/manifests/latest", Reply(302, headers={"Location": "/v2/loop/manifests/latest"})
    )
    with pytest.raises(RegistryError, match="redirects"):
        client.resolve(parse_reference(f"{registry.host}/loop"))
