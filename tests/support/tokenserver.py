"""A tiny bearer-token realm for docker-registry's `auth: token` (127.0.0.1, in a thread).

Follows the Docker token authentication spec: GET /token?service=S&scope=repository:NAME:ACTIONS,
HTTP Basic credentials optional, answer {"token", "access_token", "expires_in"} holding a JWT
signed RS256 with the key whose certificate the registry trusts (x5c header carries the cert).
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ISSUER = "shocker-test-issuer"
SERVICE = "shocker-test-registry"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_signing_key(directory: Path) -> tuple[Path, Path]:
    """Generate an RSA key and a self-signed certificate with the openssl CLI."""
    key = directory / "token.key"
    cert = directory / "token.crt"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", "/CN=shocker test token issuer",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return key, cert


def _certificate_der_b64(cert: Path) -> str:
    """The PEM body is the base64 of the DER certificate, which is what x5c wants."""
    lines = cert.read_text().splitlines()
    body = lines[
        lines.index("-----BEGIN CERTIFICATE-----") + 1 : lines.index("-----END CERTIFICATE-----")
    ]
    return "".join(body)


@dataclass
class TokenRequest:
    user: str | None
    scopes: list[str]
    granted: list[dict[str, object]]


@dataclass
class TokenServer:
    """Issues tokens: users get everything they ask for, anonymous callers may pull
    repositories whose names start with one of `public_prefixes`, and nothing else."""

    key: Path
    cert: Path
    users: dict[str, str]
    public_prefixes: tuple[str, ...] = ("public/",)
    expires_in_s: int = 300
    requests: list[TokenRequest] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def realm(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/token"

    def sign(self, claims: dict[str, object]) -> str:
        header = {"typ": "JWT", "alg": "RS256", "x5c": [_certificate_der_b64(self.cert)]}
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        )
        # RS256 = RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 3.3), what `openssl dgst -sign` makes.
        signature = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", str(self.key)],
            input=signing_input.encode(),
            capture_output=True,
            check=True,
        ).stdout
        return f"{signing_input}.{_b64url(signature)}"

    def grant(self, user: str | None, scopes: list[str]) -> list[dict[str, object]]:
        access: list[dict[str, object]] = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind != "repository" or not name:
                continue
            wanted = [a for a in actions.split(",") if a]
            if user is None:
                if not name.startswith(self.public_prefixes):
                    continue
                wanted = [a for a in wanted if a == "pull"]
            if wanted:
                access.append({"type": kind, "name": name, "actions": wanted})
        return access

    def issue(self, user: str | None, scopes: list[str]) -> str:
        now = int(time.time())
        access = self.grant(user, scopes)
        self.requests.append(TokenRequest(user, scopes, access))
        claims: dict[str, object] = {
            "iss": ISSUER,
            "sub": user or "",
            "aud": SERVICE,
            "exp": now + self.expires_in_s,
            "nbf": now - 30,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        return self.sign(claims)

    def start(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _handler_for(tokens: TokenServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def _reply(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path != "/token":
                self._reply(404, {"error": "not found"})
                return
            query = parse_qs(url.query)
            scopes = [s for value in query.get("scope", []) for s in value.split(" ") if s]
            user: str | None = None
            header = self.headers.get("Authorization", "")
            if header:
                scheme, _, value = header.partition(" ")
                try:
                    name, _, password = base64.b64decode(value).decode().partition(":")
                except ValueError:
                    name, password = "", ""
                if scheme.lower() != "basic" or tokens.users.get(name) != password:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="shocker-test"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                user = name
            token = tokens.issue(user, scopes)
            self._reply(
                200,
                {
                    "token": token,
                    "access_token": token,
                    "expires_in": tokens.expires_in_s,
                    "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                },
            )

    return Handler
