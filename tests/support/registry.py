"""Debian's docker-registry (the CNCF distribution server) on 127.0.0.1, for tests and benches.

Variants: open, htpasswd (HTTP Basic) and token (bearer tokens from `tokenserver`). Storage
lives in a directory the caller owns; `stop()` terminates only the process started here.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.images import PushedImage
from tests.support.tlscerts import ServerCertificate
from tests.support.tokenserver import ISSUER, SERVICE, TokenServer, make_signing_key

REGISTRY_BINARY = "/usr/bin/docker-registry"


def free_port() -> int:
    """A port nobody listens on right now (the kernel's choice for an ephemeral bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str


@dataclass
class Registry:
    """A running registry: `host` is what SHOCKER_REGISTRY takes (127.0.0.1:PORT)."""

    port: int
    workdir: Path
    process: subprocess.Popen[bytes]
    auth: str  # "open", "basic" or "token"
    credentials: Credentials | None = None
    tokens: TokenServer | None = None
    tls: ServerCertificate | None = None  # speaks only TLS, with this certificate
    client: tuple[Path, Path] | None = None  # and wants this client certificate (cert, key)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What httpx needs to trust it."""
        if not self.tls:
            return True
        context = ssl.create_default_context(cafile=str(self.tls.ca))
        if self.client:
            context.load_cert_chain(str(self.client[0]), str(self.client[1]))
        return context

    @property
    def log(self) -> Path:
        return self.workdir / "registry.log"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.tokens is not None:
            self.tokens.stop()


@dataclass(frozen=True)
class AuthRegistry:
    """A registry that wants credentials, with the images pushed to it."""

    registry: Registry
    user: str
    password: str
    private: PushedImage  # needs credentials
    public: PushedImage | None  # anonymous pull allowed (token registry only)


def _config(
    port: int,
    storage: Path,
    auth: dict[str, object] | None,
    tls: ServerCertificate | None = None,
    client_ca: bool = False,
) -> dict[str, object]:
    config: dict[str, object] = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(storage)},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)},
    }
    if tls is not None:
        http = config["http"]
        assert isinstance(http, dict)
        http["tls"] = {"certificate": str(tls.certificate), "key": str(tls.key)}
        if client_ca:
            http["tls"]["clientcas"] = [str(tls.ca)]
    if auth is not None:
        config["auth"] = auth
    return config


def _wait_ready(registry: Registry, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if registry.process.poll() is not None:
            raise RuntimeError(
                f"docker-registry exited with {registry.process.returncode}: "
                f"{registry.log.read_text(errors='replace')[-2000:]}"
            )
        with contextlib.suppress(httpx.HTTPError):
            status = httpx.get(
                f"{registry.url}/v2/", timeout=1.0, verify=registry.verify
            ).status_code
            if status in (200, 401):
                return
        time.sleep(0.05)
    registry.stop()
    raise RuntimeError(f"docker-registry on {registry.host} not ready after {timeout_s} s")


def start_registry(
    workdir: Path,
    auth: str = "open",
    credentials: Credentials | None = None,
    public_prefixes: tuple[str, ...] = ("public/",),
    tls: ServerCertificate | None = None,
    client: tuple[Path, Path] | None = None,
) -> Registry:
    """Start docker-registry with storage in `workdir/storage`; caller must `stop()` it.

    `auth="basic"` uses an htpasswd file (bcrypt, `htpasswd -Bbn`); `auth="token"` starts a
    token realm that accepts `credentials` and lets anonymous callers pull `public_prefixes`.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    storage = workdir / "storage"
    storage.mkdir(exist_ok=True)
    port = free_port()
    tokens: TokenServer | None = None
    auth_config: dict[str, object] | None = None
    if auth != "open" and credentials is None:
        credentials = Credentials("shocker", "s3cret-" + secrets.token_hex(4))
    if auth == "basic":
        assert credentials is not None
        line = subprocess.run(
            ["htpasswd", "-Bbn", credentials.user, credentials.password],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        htpasswd = workdir / "htpasswd"
        htpasswd.write_text(line + "\n")
        auth_config = {"htpasswd": {"realm": "shocker-test", "path": str(htpasswd)}}
    elif auth == "token":
        assert credentials is not None
        key, cert = make_signing_key(workdir)
        tokens = TokenServer(key, cert, {credentials.user: credentials.password}, public_prefixes)
        tokens.start()
        auth_config = {
            "token": {
                "realm": tokens.realm,
                "service": SERVICE,
                "issuer": ISSUER,
                "rootcertbundle": str(cert),
            }
        }
    elif auth != "open":
        raise ValueError(f"unknown registry auth {auth!r}")
    config_file = workdir / "config.yml"
    # JSON is YAML: no YAML writer needed.
    config_file.write_text(
        json.dumps(_config(port, storage, auth_config, tls, client is not None), indent=2)
    )
    log = (workdir / "registry.log").open("wb")
    process = subprocess.Popen(
        [REGISTRY_BINARY, "serve", str(config_file)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    log.close()
    registry = Registry(port, workdir, process, auth, credentials, tokens, tls, client)
    try:
        _wait_ready(registry)
    except BaseException:
        registry.stop()
        raise
    return registry


@contextlib.contextmanager
def running_registry(workdir: Path, auth: str = "open", **options: object) -> Iterator[Registry]:
    """`start_registry` as a context manager that stops it and deletes its storage."""
    registry = start_registry(workdir, auth, **options)  # type: ignore[arg-type]
    try:
        yield registry
    finally:
        registry.stop()
        shutil.rmtree(workdir, ignore_errors=True)
