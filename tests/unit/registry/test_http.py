"""The registry's HTTP/1.1 client against scripted servers on loopback: body framings,
kept-alive connections the server closed, TLS verification, and proxies."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from shocker.registry.http import URL, HTTPError, Pool, proxy_for

# (connection, request head, reader of what follows it) -> keep the connection open
Script = Callable[[socket.socket, bytes, BinaryIO], bool]


class RawServer:
    """Accepts connections on 127.0.0.1 and lets `script` answer each request head."""

    def __init__(self, script: Script, wrap: ssl.SSLContext | None = None) -> None:
        self.heads: list[bytes] = []
        self.connections = 0
        self._script = script
        self._wrap = wrap
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        try:
            if self._wrap is not None:
                conn = self._wrap.wrap_socket(conn, server_side=True)
            reader = conn.makefile("rb")
            while True:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = reader.readline()
                    if not line:
                        return
                    head += line
                self.heads.append(head)
                if not self._script(conn, head, reader):
                    return
        except (OSError, ssl.SSLError):
            return
        finally:
            conn.close()

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def pool() -> Iterator[Pool]:
    p = Pool(ssl.create_default_context, user_agent="shocker/test", environ={})
    yield p
    p.close()


def serve(script: Script, wrap: ssl.SSLContext | None = None) -> RawServer:
    return RawServer(script, wrap)


def test_a_chunked_body_is_decoded_and_the_connection_reused(pool: Pool) -> None:
    def chunked(conn: socket.socket, head: bytes, reader: BinaryIO) -> bool:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: x\r\n\r\n"
        )
        return True

    server = serve(chunked)
    try:
        for _ in range(2):
            response = pool.request("GET", f"http://127.0.0.1:{server.port}/a", {})
            assert response.read() == b"hello, world"
            response.close()
        assert server.connections == 1
        assert server.heads[0].startswith(b"GET /a HTTP/1.1\r\n")
        assert f"Host: 127.0.0.1:{server.port}\r\n".encode() in server.heads[0]
    finally:
        server.close()


def test_a_body_ending_with_the_connection_is_read_whole(pool: Pool) -> None:
    def close_delimited(conn: socket.socket, head: bytes, reader: BinaryIO) -> bool:
        conn.sendall(b"HTTP/1.1 200 OK\r\n\r\nall of it")
        return False

    server = serve(close_delimited)
    try:
        response = pool.request("GET", f"http://127.0.0.1:{server.port}/", {})
        assert response.read() == b"all of it"
    finally:
        server.close()


def test_a_body_cut_short_is_an_error(pool: Pool) -> None:
    def cut(conn: socket.socket, head: bytes, reader: BinaryIO) -> bool:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
        return False

    server = serve(cut)
    try:
        response = pool.request("GET", f"http://127.0.0.1:{server.port}/", {})
        with pytest.raises(HTTPError, match="before the end of the body"):
            response.read()
    finally:
        server.close()


def test_a_kept_alive_connection_the_server_closed_is_replaced(pool: Pool) -> None:
    def once(conn: socket.socket, head: bytes, reader: BinaryIO) -> bool:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        return False  # closes after each answer, without saying so

    server = serve(once)
    try:
        url = f"http://127.0.0.1:{server.port}/"
        for _ in range(3):
            with pool.request("GET", url, {}) as response:
                assert response.read() == b"ok"
        assert server.connections == 3
    finally:
        server.close()


def test_a_request_body_is_sent_with_its_length(pool: Pool, tmp_path: Path) -> None:
    received: list[bytes] = []

    def echo(conn: socket.socket, head: bytes, reader: BinaryIO) -> bool:
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        received.append(reader.read(length))
        conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
        return True

    server = serve(echo)
    blob = tmp_path / "blob"
    blob.write_bytes(b"from a file")
    try:
        url = f"http://127.0.0.1:{server.port}/up"
        assert pool.request("PUT", url, {}, b"from bytes").status_code == 201
        with blob.open("rb") as body:
            assert pool.request("PUT", url, {}, body).status_code == 201
        assert received == [b"from bytes", b"from a file"]
    finally:
        server.close()


def test_an_unreachable_port_is_one_error() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    pool = Pool(ssl.create_default_context, user_agent="t", environ={})
    with pytest.raises(HTTPError) as caught:
        pool.request("GET", f"http://127.0.0.1:{port}/", {})
    assert "refused" in caught.value.reason.lower()
    assert caught.value.netloc == f"127.0.0.1:{port}"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def _tls_server(certificate: tuple[Path, Path]) -> RawServer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)

    def hello(conn: socket.socket, head: bytes, reader: BinaryIO) -> bool:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecret")
        return True

    return serve(hello, wrap=context)


def test_tls_with_a_trusted_certificate(certificate: tuple[Path, Path]) -> None:
    server = _tls_server(certificate)

    def trusting() -> ssl.SSLContext:
        context = ssl.create_default_context()
        context.load_verify_locations(certificate[0])
        return context

    pool = Pool(trusting, user_agent="t", environ={})
    try:
        with pool.request("GET", f"https://localhost:{server.port}/", {}) as response:
            assert response.read() == b"secret"
    finally:
        pool.close()
        server.close()


def test_tls_with_an_unknown_certificate_fails_naming_it(certificate: tuple[Path, Path]) -> None:
    server = _tls_server(certificate)
    pool = Pool(ssl.create_default_context, user_agent="t", environ={})
    try:
        with pytest.raises(HTTPError, match="certificate"):
            pool.request("GET", f"https://localhost:{server.port}/", {})
    finally:
        pool.close()
        server.close()


def test_plain_http_through_a_proxy_uses_the_absolute_form() -> None:
    def proxy(conn: socket.socket, head: bytes, reader: BinaryIO) -> bool:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nproxied")
        return True

    server = serve(proxy)
    environ = {"HTTP_PROXY": f"http://user:pw@127.0.0.1:{server.port}"}
    pool = Pool(ssl.create_default_context, user_agent="t", environ=environ)
    try:
        url = "http://registry.example:5000/v2/"
        with pool.request("GET", url, {}) as response:
            assert response.read() == b"proxied"
        assert server.heads[0].startswith(b"GET http://registry.example:5000/v2/ HTTP/1.1")
        assert b"Proxy-Authorization: Basic dXNlcjpwdw==" in server.heads[0]
    finally:
        pool.close()
        server.close()


def test_https_through_a_proxy_asks_for_a_tunnel() -> None:
    def refuse(conn: socket.socket, head: bytes, reader: BinaryIO) -> bool:
        conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        return False

    server = serve(refuse)
    pool = Pool(
        ssl.create_default_context,
        user_agent="t",
        environ={"https_proxy": f"127.0.0.1:{server.port}"},
    )
    try:
        with pytest.raises(HTTPError, match="refused the tunnel: 403 Forbidden"):
            pool.request("GET", "https://registry.example/v2/", {})
        assert server.heads[0].startswith(b"CONNECT registry.example:443 HTTP/1.1\r\n")
    finally:
        pool.close()
        server.close()


@pytest.mark.parametrize(
    ("url", "no_proxy", "proxied"),
    [
        ("http://registry.example/", "", True),
        ("http://127.0.0.1:5000/", "", False),
        ("http://localhost:5000/", "", False),
        ("http://a.corp.example/", "corp.example", False),
        ("http://a.corp.example/", ".corp.example", False),
        ("http://corp.example:5000/", "corp.example:6000", True),
        ("http://registry.example/", "*", False),
    ],
)
def test_which_hosts_go_through_the_proxy(url: str, no_proxy: str, proxied: bool) -> None:
    environ = {"http_proxy": "http://proxy.lan:3128", "NO_PROXY": no_proxy}
    assert (proxy_for(URL(url), environ) is not None) == proxied
