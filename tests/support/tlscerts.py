"""A throw-away certificate authority and a server certificate for 127.0.0.1, made with the
openssl command line, for registries that speak TLS in tests."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ServerCertificate:
    ca: Path  # the CA's certificate (PEM): what a client must trust
    certificate: Path  # the server's, signed by the CA
    key: Path
    ca_key: Path  # to sign more (client certificates)


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(directory: Path, name: str = "ca") -> tuple[Path, Path]:
    """(certificate, key) of a new self-signed CA, valid for a day."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
        "-subj", f"/CN=shocker test {name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    return cert, key


def make_server_certificate(directory: Path, host: str = "127.0.0.1") -> ServerCertificate:
    """A CA and a certificate it signed for `host` (an IP address SAN)."""
    ca_cert, ca_key = make_ca(directory)
    key, request, cert = (
        directory / "server.key",
        directory / "server.csr",
        directory / "server.crt",
    )
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(request), "-subj", f"/CN={host}",
    )  # fmt: skip
    extensions = directory / "server.ext"
    extensions.write_text(
        f"subjectAltName=IP:{host}\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    _openssl(
        "x509", "-req", "-in", str(request), "-CA", str(ca_cert), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", "1", "-extfile", str(extensions),
    )  # fmt: skip
    return ServerCertificate(ca_cert, cert, key, ca_key)


def make_client_certificate(directory: Path, server: ServerCertificate) -> tuple[Path, Path]:
    """(certificate, key) for a TLS client, signed by the server's CA."""
    directory.mkdir(parents=True, exist_ok=True)
    key, cert = directory / "client.key", directory / "client.cert"
    request = directory / "client.csr"
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(request), "-subj", "/CN=shocker test client",
    )  # fmt: skip
    extensions = directory / "client.ext"
    extensions.write_text("basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
    _openssl(
        "x509", "-req", "-in", str(request), "-CA", str(server.ca), "-CAkey", str(server.ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", "1", "-extfile", str(extensions),
    )  # fmt: skip
    return cert, key
