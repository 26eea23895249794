"""Pulling from a registry that speaks TLS (docker-registry on loopback, its certificate
signed by a CA this test makes): verified against SHOCKER_CA_CERT or Docker's certs.d
layout, refused in one line when the CA is not trusted."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.assertions import assert_one_line_error
from tests.support.images import PushedImage, push_busybox
from tests.support.push import Pusher
from tests.support.registry import Registry, running_registry
from tests.support.shocker import Shocker
from tests.support.tlscerts import make_ca, make_client_certificate, make_server_certificate


@dataclass(frozen=True)
class TlsRegistry:
    registry: Registry
    image: PushedImage
    ca: Path


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRegistry]:
    workdir = tmp_path_factory.mktemp("tls-registry")
    certificate = make_server_certificate(workdir / "pki")
    with running_registry(workdir / "registry", tls=certificate) as registry:
        client = httpx.Client(timeout=60.0, verify=registry.verify)
        with Pusher(registry.url, client=client) as pusher:
            image = push_busybox(pusher, "secure/busybox")
        yield TlsRegistry(registry, image, certificate.ca)


def _client(shocker: Shocker, tls: TlsRegistry, certs_d: Path, **env: str) -> Shocker:
    return shocker.with_env(SHOCKER_REGISTRY=tls.registry.host, SHOCKER_CERTS_D=str(certs_d), **env)


def _host_dir(certs_d: Path, tls: TlsRegistry) -> Path:
    directory = certs_d / tls.registry.host  # Docker's layout: HOST:PORT
    directory.mkdir(parents=True)
    return directory


def test_pull_verifies_against_the_registry_ca_in_certs_d(
    fresh_shocker: Shocker, tls_registry: TlsRegistry, tmp_path: Path
) -> None:
    certs_d = tmp_path / "certs.d"
    (_host_dir(certs_d, tls_registry) / "ca.crt").write_bytes(tls_registry.ca.read_bytes())
    result = _client(fresh_shocker, tls_registry, certs_d)("pull", tls_registry.image.ref)
    result.check().created_id()


def test_pull_verifies_against_shocker_ca_cert(
    fresh_shocker: Shocker, tls_registry: TlsRegistry, tmp_path: Path
) -> None:
    certs_d = tmp_path / "certs.d"
    _host_dir(certs_d, tls_registry)  # empty: it only says the registry speaks TLS
    client = _client(fresh_shocker, tls_registry, certs_d, SHOCKER_CA_CERT=str(tls_registry.ca))
    client("pull", tls_registry.image.ref).check().created_id()


@pytest.mark.parametrize("trust", ["none", "another CA"])
def test_an_untrusted_certificate_is_one_line_and_pulls_nothing(
    fresh_shocker: Shocker, tls_registry: TlsRegistry, tmp_path: Path, trust: str
) -> None:
    certs_d = tmp_path / "certs.d"
    directory = _host_dir(certs_d, tls_registry)
    if trust == "another CA":
        other, _ = make_ca(tmp_path / "other", "other")
        (directory / "ca.crt").write_bytes(other.read_bytes())
    result = _client(fresh_shocker, tls_registry, certs_d)("pull", tls_registry.image.ref)
    assert_one_line_error(result, "certificate verify failed", "SHOCKER_CA_CERT")
    assert fresh_shocker("images", "-q").check().out == ""


def test_a_ca_file_that_does_not_load_is_one_line(
    fresh_shocker: Shocker, tls_registry: TlsRegistry, tmp_path: Path
) -> None:
    certs_d = tmp_path / "certs.d"
    _host_dir(certs_d, tls_registry)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    client = _client(fresh_shocker, tls_registry, certs_d, SHOCKER_CA_CERT=str(junk))
    assert_one_line_error(client("pull", tls_registry.image.ref), "SHOCKER_CA_CERT", str(junk))


def test_a_client_certificate_from_certs_d(
    fresh_shocker: Shocker, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Docker's layout: NAME.cert with NAME.key beside the CA is the client's certificate.
    workdir = tmp_path_factory.mktemp("mtls-registry")
    server = make_server_certificate(workdir / "pki")
    client_cert, client_key = make_client_certificate(workdir / "client", server)
    with running_registry(
        workdir / "registry", tls=server, client=(client_cert, client_key)
    ) as reg:
        with Pusher(reg.url, client=httpx.Client(timeout=60.0, verify=reg.verify)) as pusher:
            image = push_busybox(pusher, "mtls/busybox")
        certs_d = tmp_path / "certs.d"
        directory = certs_d / reg.host
        directory.mkdir(parents=True)
        (directory / "ca.crt").write_bytes(server.ca.read_bytes())
        client = fresh_shocker.with_env(SHOCKER_REGISTRY=reg.host, SHOCKER_CERTS_D=str(certs_d))
        assert_one_line_error(client("pull", image.ref))  # no client certificate yet
        (directory / "client.cert").write_bytes(client_cert.read_bytes())
        assert_one_line_error(client("pull", image.ref), "client.cert", "client.key")
        (directory / "client.key").write_bytes(client_key.read_bytes())
        client("pull", image.ref).check().created_id()
