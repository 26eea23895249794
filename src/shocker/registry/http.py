"""HTTP/1.1 for registry traffic on the standard library's socket and ssl: keep-alive pools,
Content-Length, chunked and close-delimited bodies, TLS, and proxies from the environment.

Why not an HTTP library: `import httpx` alone cost 60 ms of a 235 ms pull of one 10 MB layer
(measured on a 2-core machine: 87 ms for `python -c "import httpx"` against 11 ms for a bare
interpreter; the stdlib's `http.client` still costs 30 ms, for its `email` header parser).
Registry traffic needs little of HTTP: requests with a Content-Length body, responses read
as they stream, redirects (followed by the caller, which decides about credentials).
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from urllib.parse import unquote, urlsplit

from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl
    from io import BufferedReader
    from typing import BinaryIO, overload

    Body = bytes | BinaryIO | None
    from types import TracebackType

READ_SIZE = 1 << 20  # blobs are megabytes: each read is one trip through this module
MAX_LINE = 64 << 10
MAX_HEADERS = 256
DEFAULT_PORTS = {"http": 80, "https": 443}
_NO_BODY_STATUSES = frozenset({204, 304})


class HTTPError(Exception):
    """No complete answer: refused, reset, timed out, a TLS failure or a malformed reply."""

    def __init__(self, reason: str, url: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.url = url

    @property
    def netloc(self) -> str:
        return urlsplit(self.url).netloc


class _Stale(HTTPError):
    """The connection was closed or reset before any answer: the request may be resent."""


def _reason(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


class URL:
    """The parts of an absolute http(s) URL a request needs."""

    def __init__(self, url: str) -> None:
        split = urlsplit(url)
        if split.scheme not in DEFAULT_PORTS or not split.hostname:
            raise HTTPError(f"not an http(s) URL: {url!r}", url)
        self.text = url
        self.scheme = split.scheme
        self.host = split.hostname
        try:
            self.port = split.port or DEFAULT_PORTS[split.scheme]
        except ValueError:
            raise HTTPError(f"bad port in {url!r}", url) from None
        self.target = (split.path or "/") + (f"?{split.query}" if split.query else "")
        bracketed = f"[{self.host}]" if ":" in self.host else self.host
        default = self.port == DEFAULT_PORTS[self.scheme]
        self.authority = bracketed if default else f"{bracketed}:{self.port}"

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)


class Headers:
    """Response headers: case-insensitive lookup, repeated fields joined with ", "."""

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self.fields = fields
        self._map: dict[str, str] = {}
        for name, value in fields:
            key = name.lower()
            self._map[key] = f"{self._map[key]}, {value}" if key in self._map else value

    if TYPE_CHECKING:

        @overload
        def get(self, name: str) -> str | None: ...

        @overload
        def get(self, name: str, default: str) -> str: ...

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._map.get(name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return self._map[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._map


class _Connection:
    def __init__(self, sock: socket.socket, key: tuple[str, ...]) -> None:
        self.sock = sock
        self.key = key
        self.reader = sock.makefile("rb")
        self.used = False  # answered a request already: the server may have closed it since

    def close(self) -> None:
        try:
            self.reader.close()
        finally:
            self.sock.close()


class Response:
    """A response whose body streams: read it (iter_bytes, read), then close()."""

    def __init__(
        self,
        pool: Pool,
        conn: _Connection,
        url: str,
        status: int,
        reason: str,
        headers: Headers,
        method: str,
    ) -> None:
        self._pool = pool
        self._conn: _Connection | None = conn
        self.url = url
        self.status_code = status
        self.reason_phrase = reason
        self.headers = headers
        self._content: bytes | None = None
        self._chunked = False
        self._left: int | None = None  # bytes left in the body (or in the current chunk)
        self._done = False
        self._reusable = "close" not in (headers.get("connection") or "").lower()
        if method == "HEAD" or status in _NO_BODY_STATUSES or 100 <= status < 200:
            self._left = 0
        elif "chunked" in (headers.get("transfer-encoding") or "").lower():
            self._chunked = True
        elif headers.get("content-length") is not None:
            try:
                self._left = int(headers["content-length"])
            except ValueError:
                raise HTTPError("bad Content-Length in the answer", url) from None
            if self._left < 0:
                raise HTTPError("bad Content-Length in the answer", url)
        else:
            self._reusable = False  # the body ends when the server closes the connection
        if self._left == 0:
            self._finish()

    def __enter__(self) -> Response:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _finish(self) -> None:
        self._done = True
        conn, self._conn = self._conn, None
        if conn is not None:
            if self._reusable:
                self._pool.release(conn)
            else:
                conn.close()

    def _fail(self, reason: str) -> HTTPError:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        return HTTPError(reason, self.url)

    def _line(self, conn: _Connection) -> bytes:
        line = conn.reader.readline(MAX_LINE)
        if not line.endswith(b"\n"):
            raise self._fail("the connection closed in the middle of a chunked body")
        return line

    def _read_some(self) -> bytes:
        """The next piece of the body; b"" at its end."""
        conn = self._conn
        if self._done or conn is None:
            return b""
        try:
            if self._chunked and not self._left:
                if self._left == 0:
                    self._line(conn)  # the CRLF after the previous chunk's data
                size_field = self._line(conn).split(b";", 1)[0].strip()
                try:
                    self._left = int(size_field, 16)
                except ValueError:
                    raise self._fail("bad chunk size in the answer") from None
                if self._left == 0:
                    while self._line(conn) not in (b"\r\n", b"\n"):
                        pass  # trailer fields
                    self._finish()
                    return b""
            want = READ_SIZE if self._left is None else min(self._left, READ_SIZE)
            data = conn.reader.read1(want)
        except OSError as error:
            raise self._fail(_reason(error)) from None
        if not data:
            if self._left is None:
                self._finish()  # close-delimited: this is the end
                return b""
            raise self._fail("the connection closed before the end of the body")
        if self._left is not None:
            self._left -= len(data)
            if self._left == 0 and not self._chunked:
                self._finish()
        return data

    def iter_bytes(self) -> Iterator[bytes]:
        if self._content is not None:
            yield self._content
            return
        while chunk := self._read_some():
            yield chunk

    def read(self) -> bytes:
        if self._content is None:
            self._content = b"".join(self.iter_bytes())
        return self._content

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            if self._done and self._reusable:
                self._pool.release(conn)
            else:
                conn.close()  # an unread body: the connection cannot carry another request


def _no_proxy_matches(host: str, port: int, no_proxy: str) -> bool:
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        name, _, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and entry_port != str(port):
            continue
        name = name.lstrip(".")
        if host == name or host.endswith("." + name):
            return True
    return False


def is_loopback_host(host: str) -> bool:
    """`localhost`, `*.localhost` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def proxy_for(url: URL, environ: Mapping[str, str]) -> URL | None:
    """The proxy the environment names for `url` (curl's rules: lowercase names first,
    NO_PROXY by host suffix); loopback never goes through one, as in Docker."""

    def variable(name: str) -> str:
        return environ.get(name) or environ.get(name.upper()) or ""

    proxy = variable(f"{url.scheme}_proxy") or variable("all_proxy")
    if not proxy or is_loopback_host(url.host.lower()):
        return None
    if _no_proxy_matches(url.host.lower(), url.port, variable("no_proxy")):
        return None
    if "://" not in proxy:
        proxy = "http://" + proxy
    return URL(proxy)


def _proxy_authorization(proxy: URL) -> dict[str, str]:
    split = urlsplit(proxy.text)
    if split.username is None:
        return {}
    import base64

    pair = f"{unquote(split.username)}:{unquote(split.password or '')}".encode()
    return {"Proxy-Authorization": "Basic " + base64.b64encode(pair).decode()}


class Pool:
    """Keep-alive connections per origin (and proxy); safe to share between threads.

        `tls_context` is called once, on the first https connection, in a thread of its own so
        that loading the CA certificates overlaps the DNS lookup and TCP connect. `tls_for`,
        when given, may answer a context of its own for one authority (`host:port`, or `host` on
    port 443): a registry with CAs of its own.
    """

    def __init__(
        self,
        tls_context: Callable[[], ssl.SSLContext],
        *,
        user_agent: str,
        tls_for: Callable[[str], ssl.SSLContext | None] | None = None,
        timeout: float = 60.0,
        connect_timeout: float = 15.0,
        max_idle: int = 16,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._make_tls = tls_context
        self._tls_for = tls_for
        self._tls: ssl.SSLContext | None = None
        self._tls_error: BaseException | None = None
        self._tls_thread: threading.Thread | None = None
        self._user_agent = user_agent
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._max_idle = max_idle
        self._environ = os.environ if environ is None else environ
        self._idle: dict[tuple[str, ...], list[_Connection]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    def release(self, conn: _Connection) -> None:
        with self._lock:
            conns = self._idle.setdefault(conn.key, [])
            if not self._closed and len(conns) < self._max_idle:
                conn.used = True
                conns.append(conn)
                return
        conn.close()

    def request(
        self, method: str, url: str, headers: Mapping[str, str], body: Body = None
    ) -> Response:
        """Send one request; the response's body is left to the caller to read and close.

        A kept-alive connection the server closed in the meantime is replaced once, as
        every HTTP client does; any other failure raises HTTPError.
        """
        target = URL(url)
        proxy = proxy_for(target, self._environ)
        key = (target.scheme, target.host, str(target.port)) + ((proxy.text,) if proxy else ())
        start = body.tell() if body is not None and not isinstance(body, bytes) else 0
        while True:
            conn = self._take(key)
            fresh = conn is None
            if conn is None:
                conn = self._open(target, proxy, key)
            try:
                return self._exchange(conn, method, target, proxy, headers, body, start)
            except _Stale as error:
                conn.close()
                if fresh:
                    raise HTTPError(error.reason, url) from None
            except HTTPError:
                conn.close()
                raise
            except OSError as error:
                conn.close()
                raise HTTPError(_reason(error), url) from None
            # The server closed a kept-alive connection before reading this request (it may
            # do so any time between requests): send it again on another one.
            if body is not None and not isinstance(body, bytes):
                body.seek(start)

    def _take(self, key: tuple[str, ...]) -> _Connection | None:
        with self._lock:
            conns = self._idle.get(key)
            return conns.pop() if conns else None

    def _tls_context(self) -> ssl.SSLContext:
        with self._lock:
            thread = self._tls_thread
        if thread is not None:
            thread.join()
        if self._tls is None:
            if self._tls_error is not None:
                raise self._tls_error
            self._tls = self._make_tls()
        return self._tls

    def _start_tls_context(self) -> None:
        with self._lock:
            if self._tls is not None or self._tls_thread is not None:
                return

            def build() -> None:
                try:
                    self._tls = self._make_tls()
                except BaseException as error:  # reported to the connection that needs it
                    self._tls_error = error

            self._tls_thread = threading.Thread(target=build, name="tls-context", daemon=True)
            self._tls_thread.start()

    def _open(self, target: URL, proxy: URL | None, key: tuple[str, ...]) -> _Connection:
        if target.scheme == "https":
            self._start_tls_context()
        hop = proxy or target
        try:
            address = (_lookup_name(hop.host), hop.port)
            sock = socket.create_connection(
                address,  # type: ignore[arg-type]  # typeshed says str; getaddrinfo takes bytes
                timeout=self._connect_timeout,
            )
        except OSError as error:
            raise HTTPError(_reason(error), target.text) from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(self._timeout)
            if proxy is not None and target.scheme == "https":
                self._tunnel(sock, target, proxy)
            if target.scheme == "https":
                own = self._tls_for(target.authority) if self._tls_for else None
                context = own if own is not None else self._tls_context()
                sock = context.wrap_socket(sock, server_hostname=target.host)
        except HTTPError:
            sock.close()
            raise
        except OSError as error:
            sock.close()
            raise HTTPError(_reason(error), target.text) from None
        return _Connection(sock, key)

    def _tunnel(self, sock: socket.socket, target: URL, proxy: URL) -> None:
        """HTTP CONNECT through `proxy` to the target's host and port (RFC 9110 9.3.6)."""
        host = f"[{target.host}]" if ":" in target.host else target.host
        authority = f"{host}:{target.port}"
        lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
        lines += [f"{k}: {v}" for k, v in _proxy_authorization(proxy).items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        # Nothing follows the proxy's answer until the TLS handshake starts: a buffered
        # reader cannot take bytes that belong to the tunnel.
        reader = sock.makefile("rb")
        status_line = _read_line(reader, target.text)
        parts = status_line.split(None, 2)
        while _read_line(reader, target.text) not in (b"\r\n", b"\n"):
            pass
        if len(parts) < 2 or not parts[1].startswith(b"2"):
            answer = b" ".join(parts[1:]).decode("latin-1").strip()
            raise HTTPError(f"proxy {proxy.authority} refused the tunnel: {answer}", target.text)

    def _exchange(
        self,
        conn: _Connection,
        method: str,
        target: URL,
        proxy: URL | None,
        headers: Mapping[str, str],
        body: Body,
        start: int,
    ) -> Response:
        request_target = (
            target.text if proxy is not None and target.scheme == "http" else (target.target)
        )
        sending = {"Host": target.authority, "User-Agent": self._user_agent, "Accept": "*/*"}
        if proxy is not None and target.scheme == "http":
            sending.update(_proxy_authorization(proxy))
        lowered = {k.lower() for k in headers}
        sending = {k: v for k, v in sending.items() if k.lower() not in lowered}
        sending.update(headers)
        length = _body_length(body, start)
        if length is not None and "content-length" in lowered and not isinstance(body, bytes):
            # A file body with its own Content-Length: that many bytes from `start` (one
            # chunk of a blob upload).
            length = int(next(v for k, v in headers.items() if k.lower() == "content-length"))
        elif length is not None:
            sending["Content-Length"] = str(length)
        head = f"{method} {request_target} HTTP/1.1\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in sending.items()
        )
        try:
            conn.sock.sendall((head + "\r\n").encode("latin-1"))
            if isinstance(body, bytes):
                if body:
                    conn.sock.sendall(body)
            elif body is not None:
                conn.sock.sendfile(body, start, length)
            conn.reader.peek(1)
        except (BrokenPipeError, ConnectionResetError) as error:
            raise _Stale(_reason(error), target.text) from None
        while True:
            status, reason, fields = _read_head(conn, target.text)
            if status != 100:
                break
        return Response(self, conn, target.text, status, reason, Headers(fields), method)


def _lookup_name(host: str) -> str | bytes:
    """`host` for getaddrinfo: as bytes when it is ASCII (a name or an address literal).

    getaddrinfo encodes a str host with the idna codec, and importing that codec (with
    stringprep and unicodedata) cost 1.0 ms of every pull (fastest of 40 fresh interpreters
    on this project's 2-core machine; 0.02 ms with bytes). Other hosts keep their str.
    """
    try:
        return host.encode("ascii")
    except UnicodeEncodeError:
        return host


def _body_length(body: Body, start: int) -> int | None:
    if body is None:
        return None
    if isinstance(body, bytes):
        return len(body)
    return os.fstat(body.fileno()).st_size - start


def _read_line(reader: BufferedReader, url: str) -> bytes:
    line = reader.readline(MAX_LINE)
    if not line:
        raise HTTPError("the server closed the connection without an answer", url)
    if not line.endswith(b"\n"):
        raise HTTPError("the answer has a header line that is too long", url)
    return line


def _read_head(conn: _Connection, url: str) -> tuple[int, str, list[tuple[str, str]]]:
    status_line = conn.reader.readline(MAX_LINE)
    if not status_line:
        raise _Stale("the server closed the connection without an answer", url)
    if not status_line.endswith(b"\n"):
        raise HTTPError("the answer has a header line that is too long", url)
    parts = status_line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HTTPError(f"not an HTTP/1.x answer: {status_line[:60]!r}", url)
    items: list[tuple[str, str]] = []
    while True:
        line = _read_line(conn.reader, url)
        if line in (b"\r\n", b"\n"):
            break
        if len(items) >= MAX_HEADERS:
            raise HTTPError("the answer has too many header fields", url)
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise HTTPError(f"malformed header line {line[:60]!r}", url)
        items.append((name.strip(), value.strip()))
    return int(parts[1]), parts[2].strip() if len(parts) > 2 else "", items
