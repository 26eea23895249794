"""HTTP to registries: plain HTTP only for loopback and listed insecure hosts, bounded retries
with backoff, and redirects that never carry the registry's credentials to another host."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shocker import __version__
from shocker.errors import RegistryError
from shocker.oci.reference import HUB_REGISTRY
from shocker.settings import Settings

if TYPE_CHECKING:
    import ssl

    import httpx

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
MAX_RETRY_AFTER = 30.0
BODY_READ_SIZE = 1 << 20


def hostname(registry: str) -> str:
    """The host part of `host[:port]`, `[v6]:port` or a bare IPv6 address."""
    if registry.startswith("["):
        return registry[1:].partition("]")[0]
    if registry.count(":") > 1:
        return registry
    return registry.partition(":")[0]


def is_loopback(registry: str) -> bool:
    host = hostname(registry).lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def scheme_for(registry: str, insecure: Sequence[str] = ()) -> str:
    """Docker's rule: loopback registries (and those the user lists) speak plain HTTP."""
    if is_loopback(registry) or registry in insecure or hostname(registry) in insecure:
        return "http"
    return "https"


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


def _retry_after(response: httpx.Response, default: float) -> float:
    raw = response.headers.get("retry-after", "")
    try:
        return min(max(float(raw), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return default


def _tls_context() -> ssl.SSLContext:
    """The system's CAs (where private registries' CAs get installed) plus certifi's."""
    import ssl

    context = ssl.create_default_context()
    try:
        import certifi

        context.load_verify_locations(certifi.where())
    except (ImportError, OSError):
        pass
    return context


def import_httpx() -> Any:
    """httpx, imported without its command-line tool, and reading bodies in larger pieces.

    `import httpx` also imports httpx._main (click, rich, pygments: ~30 ms), which it only
    needs for its own CLI; a None entry in sys.modules makes that import fail, and httpx
    then defines a stub instead (httpx/__init__.py). httpcore reads 64 KiB per recv(2);
    blobs are megabytes, and each read costs a trip through h11 and httpx in Python.
    """
    import sys

    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    import httpx
    from httpcore._sync.http11 import HTTP11Connection

    HTTP11Connection.READ_NUM_BYTES = BODY_READ_SIZE
    return httpx


class Transport:
    """Connection pools (httpx.Client is thread-safe) shared by every request: one for plain
    HTTP and one for HTTPS, each made on first use, because loading the CA bundles costs
    tens of milliseconds that a pull from a loopback registry need not pay."""

    def __init__(self, settings: Settings, *, tries: int = 4, backoff: float = 0.25) -> None:
        self.settings = settings
        self.tries = max(tries, 1)
        self.backoff = backoff
        self._clients: dict[str, httpx.Client] = {}
        self._clients_lock = threading.Lock()

    def _client(self, scheme: str) -> httpx.Client:
        httpx = import_httpx()
        with self._clients_lock:
            client = self._clients.get(scheme)
            if client is None:
                client = httpx.Client(
                    # The plain pool is only ever sent http:// URLs (see _follow), so it
                    # needs no certificates.
                    verify=_tls_context() if scheme == "https" else False,
                    follow_redirects=False,
                    timeout=httpx.Timeout(60.0, connect=15.0),
                    limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
                    headers={"User-Agent": f"shocker/{__version__}"},
                )
                self._clients[scheme] = client
            return client

    def close(self) -> None:
        with self._clients_lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def url(self, registry: str, path: str) -> str:
        return f"{scheme_for(registry, self.settings.insecure_registries)}://{registry}{path}"

    def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        *,
        registry: str,
        params: Sequence[tuple[str, str]] = (),
    ) -> httpx.Response:
        """The final response (after redirects), streaming: the caller reads and closes it.

        Connection errors, 5xx and 429 are retried `tries` times in all; a last 5xx/429 is
        returned for the caller to report. Raises RegistryError when nothing answers.
        """
        httpx = import_httpx()
        delay = self.backoff
        for attempt in range(1, self.tries + 1):
            try:
                response = self._follow(method, url, headers, params)
            except httpx.TooManyRedirects:
                raise RegistryError(f"{registry}: more than {MAX_REDIRECTS} redirects") from None
            except httpx.TransportError as exc:
                if attempt == self.tries:
                    raise self.unreachable(registry, exc) from None
                time.sleep(delay)
                delay *= 2
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.tries:
                response.close()
                time.sleep(_retry_after(response, delay))
                delay *= 2
                continue
            return response
        raise AssertionError("unreachable: the loop returns or raises")

    def _follow(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        params: Sequence[tuple[str, str]],
    ) -> httpx.Response:
        httpx = import_httpx()
        # Parameters join the URL's own query (a token realm may carry one) without
        # replacing it, as httpx's `params=` would.
        target = httpx.URL(url).copy_merge_params(list(params))
        first = _origin(target)
        hop_headers = dict(headers)
        for _ in range(MAX_REDIRECTS + 1):
            client = self._client("https" if target.scheme == "https" else "http")
            # build_request adds the pool's timeouts and User-Agent to the request.
            request = client.build_request(method, target, headers=hop_headers)
            response = client.send(request, stream=True)
            location = response.headers.get("location")
            if response.status_code not in REDIRECT_STATUSES or not location:
                return response
            response.close()
            target = request.url.join(location)
            hop_headers = dict(headers)
            if _origin(target) != first:
                # Blob redirects go to a CDN with a signed URL; the registry's token or
                # password must not follow (Python's urllib and older Docker leaked it).
                hop_headers = {k: v for k, v in hop_headers.items() if k.lower() != "authorization"}
            if response.status_code == 303:
                method = "GET"
        raise httpx.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects", request=request)

    def unreachable(self, registry: str, exc: httpx.RequestError) -> RegistryError:
        """The error for a registry (or the host it redirected to) that did not answer."""
        host = registry
        try:
            request = exc.request
        except RuntimeError:
            request = None
        if request is not None and request.url.host != hostname(registry):
            host = request.url.netloc.decode()
        reason = str(exc) or type(exc).__name__
        hint = None
        if registry == HUB_REGISTRY and self.settings.registry is None:
            hint = (
                "Docker Hub cannot be reached from here: set SHOCKER_REGISTRY=host[:port] "
                "to pull from a registry or mirror you can reach"
            )
        elif "ssl" in reason.lower() or "certificate" in reason.lower():
            hint = (
                f"if {registry} speaks plain HTTP, add it to SHOCKER_INSECURE_REGISTRIES "
                "(comma-separated host[:port])"
            )
        return RegistryError(f"cannot reach {host}: {reason}", hint=hint)
