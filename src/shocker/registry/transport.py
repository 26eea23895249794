"""HTTP to registries: plain HTTP only for loopback and listed insecure hosts, bounded retries
with backoff, and redirects that never carry the registry's credentials to another host.

TLS is always verified: against the system's CAs (and certifi's), plus SHOCKER_CA_CERT, plus
for one registry the `*.crt` files of its directory in Docker's certs.d layout
(CERTS_D/HOST:PORT/ca.crt, CERTS_D/HOST for port 443), where `*.cert` with its `*.key` is a
client certificate. A registry with such a directory speaks TLS even on loopback."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urljoin

from shocker import __version__
from shocker.errors import RegistryError
from shocker.oci.reference import HUB_REGISTRY
from shocker.registry.http import URL, HTTPError, Pool, Response, is_loopback_host
from shocker.settings import Settings
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl

    from shocker.registry.http import Body

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
MAX_RETRY_AFTER = 30.0


class Unreachable(RegistryError):
    """No answer from the registry (refused, reset, timed out) after every try."""


def hostname(registry: str) -> str:
    """The host part of `host[:port]`, `[v6]:port` or a bare IPv6 address."""
    if registry.startswith("["):
        return registry[1:].partition("]")[0]
    if registry.count(":") > 1:
        return registry
    return registry.partition(":")[0]


def is_loopback(registry: str) -> bool:
    return is_loopback_host(hostname(registry).lower())


def scheme_for(registry: str, insecure: Sequence[str] = (), certs_d: Path | None = None) -> str:
    """Docker's rule: loopback registries (and those the user lists) speak plain HTTP,
    unless certs.d holds a directory for the registry."""
    if certs_d is not None and (certs_d / registry).is_dir():
        return "https"
    if is_loopback(registry) or registry in insecure or hostname(registry) in insecure:
        return "http"
    return "https"


def _retry_after(response: Response, default: float) -> float:
    raw = response.headers.get("retry-after", "")
    try:
        return min(max(float(raw), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return default


def tls_context(ca_cert: Path | None = None) -> ssl.SSLContext:
    """The system's CAs (where private registries' CAs get installed) plus certifi's, plus
    `ca_cert` (SHOCKER_CA_CERT). Raises RegistryError for a CA file that does not load."""
    import ssl

    context = ssl.create_default_context()
    try:
        import certifi

        context.load_verify_locations(certifi.where())
    except (ImportError, OSError):
        pass
    if ca_cert is not None:
        _load_ca(context, ca_cert, "SHOCKER_CA_CERT")
    return context


def _load_ca(context: ssl.SSLContext, path: Path, what: str) -> None:
    import ssl

    try:
        context.load_verify_locations(cafile=str(path))
    except (OSError, ssl.SSLError) as error:
        reason = getattr(error, "strerror", None) or getattr(error, "reason", None) or error
        raise RegistryError(f"{what}: cannot load CA certificates from {path}: {reason}") from None


def registry_context(directory: Path, ca_cert: Path | None) -> ssl.SSLContext:
    """The context for a registry with a certs.d directory: every `*.crt` in it is a CA,
    every `*.cert` with the `*.key` of the same name a client certificate (Docker's rules)."""
    import ssl

    context = tls_context(ca_cert)
    try:
        names = sorted(p.name for p in directory.iterdir())
    except OSError as error:
        raise RegistryError(f"cannot read {directory}: {error.strerror}") from None
    for name in names:
        path = directory / name
        if name.endswith(".crt"):
            _load_ca(context, path, str(directory))
        elif name.endswith(".cert"):
            key = directory / (name[: -len(".cert")] + ".key")
            if not key.exists():
                raise RegistryError(f"{path}: client certificate without {key.name}")
            try:
                context.load_cert_chain(str(path), str(key))
            except (OSError, ssl.SSLError) as error:
                raise RegistryError(f"{path}: cannot load client certificate: {error}") from None
    return context


class Transport:
    """One connection pool shared by every request (plain HTTP and HTTPS alike); the CA
    certificates are loaded only for the first HTTPS connection, because that costs tens of
    milliseconds that a pull from a loopback registry need not pay."""

    def __init__(self, settings: Settings, *, tries: int = 4, backoff: float = 0.25) -> None:
        self.settings = settings
        self.tries = max(tries, 1)
        self.backoff = backoff
        self._contexts: dict[str, ssl.SSLContext | None] = {}
        self._pool = Pool(
            lambda: tls_context(settings.ca_cert),
            user_agent=f"shocker/{__version__}",
            tls_for=self._registry_context,
        )

    def _registry_context(self, authority: str) -> ssl.SSLContext | None:
        """The registry's own context when certs.d has a directory for it, else None."""
        if authority not in self._contexts:
            directory = self.settings.certs_d / authority
            self._contexts[authority] = (
                registry_context(directory, self.settings.ca_cert) if directory.is_dir() else None
            )
        return self._contexts[authority]

    def close(self) -> None:
        self._pool.close()

    def url(self, registry: str, path: str) -> str:
        scheme = scheme_for(registry, self.settings.insecure_registries, self.settings.certs_d)
        return f"{scheme}://{registry}{path}"

    def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        *,
        registry: str,
        params: Sequence[tuple[str, str]] = (),
        body: Body = None,
        tries: int | None = None,
    ) -> Response:
        """The final response (after redirects), streaming: the caller reads and closes it.

        Connection errors, 5xx and 429 are retried `tries` times in all (default: the
        transport's); a last 5xx/429 is returned for the caller to report. Raises
        RegistryError when nothing answers.
        """
        delay = self.backoff
        tries = self.tries if tries is None else max(tries, 1)
        start = body.tell() if body is not None and not isinstance(body, bytes) else 0
        for attempt in range(1, tries + 1):
            if attempt > 1 and body is not None and not isinstance(body, bytes):
                body.seek(start)
            try:
                response = self._follow(method, url, headers, params, body, registry)
            except HTTPError as exc:
                if attempt == tries:
                    raise self.unreachable(registry, exc) from None
                time.sleep(delay)
                delay *= 2
                continue
            if response.status_code in RETRY_STATUSES and attempt < tries:
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
        body: Body,
        registry: str,
    ) -> Response:
        # Parameters join the URL's own query (a token realm may carry one) without
        # replacing it.
        target = url
        if params:
            from urllib.parse import urlencode

            target += ("&" if "?" in url else "?") + urlencode(list(params))
        first = URL(target).origin
        hop_headers = dict(headers)
        start = body.tell() if body is not None and not isinstance(body, bytes) else 0
        for hop in range(MAX_REDIRECTS + 1):
            if hop and body is not None and not isinstance(body, bytes):
                body.seek(start)  # a 307/308 asks for the same body again
            response = self._pool.request(method, target, hop_headers, body)
            location = response.headers.get("location")
            if response.status_code not in REDIRECT_STATUSES or not location:
                return response
            response.close()
            target = urljoin(target, location)
            hop_headers = dict(headers)
            if URL(target).origin != first:
                # Blob redirects go to a CDN with a signed URL; the registry's token or
                # password must not follow (Python's urllib and older Docker leaked it).
                hop_headers = {k: v for k, v in hop_headers.items() if k.lower() != "authorization"}
            if response.status_code == 303:
                method, body = "GET", None
        raise RegistryError(f"{registry}: more than {MAX_REDIRECTS} redirects")

    def unreachable(self, registry: str, exc: HTTPError) -> Unreachable:
        """The error for a registry (or the host it redirected to) that did not answer."""
        host = registry
        netloc = exc.netloc
        if netloc and hostname(netloc) != hostname(registry):
            host = netloc
        reason = exc.reason
        hint = None
        if registry == HUB_REGISTRY and self.settings.registry is None:
            hint = (
                "Docker Hub cannot be reached from here: set SHOCKER_REGISTRY=host[:port] "
                "to pull from a registry or mirror you can reach"
            )
        elif "certificate verify failed" in reason.lower():
            hint = (
                f"trust its CA: SHOCKER_CA_CERT=FILE, or "
                f"{self.settings.certs_d / registry / 'ca.crt'} (Docker's certs.d layout)"
            )
        elif "ssl" in reason.lower() or "certificate" in reason.lower():
            hint = (
                f"if {registry} speaks plain HTTP, add it to SHOCKER_INSECURE_REGISTRIES "
                "(comma-separated host[:port])"
            )
        return Unreachable(f"cannot reach {host}: {reason}", hint=hint)
