"""RegistryClient: resolve a reference to one platform's manifest and config, and stream
verified blobs to disk (OCI distribution spec, pull side)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from shocker.errors import DigestMismatch, NotFound, RegistryError, ShockerError
from shocker.oci import mediatypes as mt
from shocker.oci.digest import DigestVerifier, compute_digest, is_digest
from shocker.oci.image_config import ImageConfig
from shocker.oci.manifest import (
    Descriptor,
    Index,
    Manifest,
    check_image_manifest,
    choose_platform,
    parse_manifest,
)
from shocker.oci.platform import Platform, host_platform
from shocker.oci.reference import Reference
from shocker.record import record
from shocker.registry.auth import CREDENTIALS_HINT, PASSWORD_REFUSED, Authenticator, error_reason
from shocker.registry.http import HTTPError
from shocker.registry.transport import Transport
from shocker.settings import Settings
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.registry.http import Body, Response

# distribution refuses manifests over 4 MiB; containerd reads no more either.
MAX_MANIFEST = 4 << 20
MAX_CONFIG = 64 << 20
# An index may point at another index (nested multi-platform images); no deeper.
MAX_INDEX_DEPTH = 2
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


@record(frozen=True)
class ResolvedManifest:
    """One platform's image manifest, before its config is fetched."""

    reference: Reference  # the candidate that answered (a mirror may hold the bare name)
    manifest_digest: str
    manifest: Manifest
    manifest_bytes: bytes


@record(frozen=True)
class ResolvedImage:
    reference: Reference
    manifest_digest: str
    manifest: Manifest
    manifest_bytes: bytes
    config_bytes: bytes
    config: ImageConfig


class _Denied(RegistryError):
    """401 although a token was presented: the repository is private or does not exist."""


class _Incomplete(Exception):
    """The body ended cleanly before the blob's size: resumable."""


def _read_limited(response: Response, limit: int, what: str) -> bytes:
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > limit:
            raise RegistryError(f"{what} is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class RegistryClient:
    """Pulls from registries; safe to share between threads; close() (or `with`) when done."""

    def __init__(
        self,
        settings: Settings,
        *,
        tries: int = 4,
        backoff: float = 0.25,
        challenges: Path | None = None,
    ) -> None:
        """`challenges`: a file remembering each registry's auth challenge across runs."""
        self.settings = settings
        self._transport = Transport(settings, tries=tries, backoff=backoff)
        self._auth = Authenticator(settings, self._transport, challenges)

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- resolving -------------------------------------------------------------------------

    def resolve(self, ref: Reference, platform: Platform | None = None) -> ResolvedImage:
        """The manifest and config of `ref` for `platform` (default: the host's)."""
        return self.fetch_config(self.resolve_manifest(ref, platform))

    def resolve_manifest(
        self, ref: Reference, platform: Platform | None = None
    ) -> ResolvedManifest:
        """The image manifest of `ref` for `platform` (default: the host's); its layers can
        be fetched while `fetch_config` gets the config."""
        wanted = platform or host_platform()
        candidates = [ref]
        parts = ref.repository.split("/")
        if (
            ref.implicit_registry
            and self.settings.registry
            and len(parts) == 2
            and parts[0] == "library"
        ):
            # Mirrors keep Hub's `library/` layout; a private registry holds the bare name.
            candidates.append(ref.with_repository(parts[1]))
        first: ShockerError | None = None
        for candidate in candidates:
            try:
                return self._resolve(candidate, wanted, ref.familiar())
            except (NotFound, _Denied) as exc:
                if first is None:
                    first = exc
                last: ShockerError = exc
        assert first is not None
        raise first if isinstance(last, NotFound) else last

    def _resolve(self, ref: Reference, wanted: Platform, name: str) -> ResolvedManifest:
        target = ref.digest or ref.tag or "latest"
        data, digest, content_type = self._manifest(ref, target, name, ref.digest, None)
        parsed = parse_manifest(data, content_type)
        depth = 0
        while isinstance(parsed, Index):
            depth += 1
            if depth > MAX_INDEX_DEPTH:
                raise RegistryError(f"{name}: indexes nested more than {MAX_INDEX_DEPTH} deep")
            try:
                entry = choose_platform(parsed, wanted)
            except RegistryError as exc:
                raise RegistryError(f"{name}: {exc.message}") from None
            data, digest, content_type = self._manifest(
                ref, entry.digest, name, entry.digest, entry.size
            )
            parsed = parse_manifest(data, content_type or entry.media_type)
        try:
            check_image_manifest(parsed)
        except RegistryError as exc:
            raise RegistryError(f"{name}: {exc.message}") from None
        return ResolvedManifest(
            reference=ref, manifest_digest=digest, manifest=parsed, manifest_bytes=data
        )

    def fetch_config(self, found: ResolvedManifest) -> ResolvedImage:
        """The image of a resolved manifest: its config fetched and verified."""
        config_bytes = self._small_blob(found.reference, found.manifest.config, MAX_CONFIG)
        return ResolvedImage(
            reference=found.reference,
            manifest_digest=found.manifest_digest,
            manifest=found.manifest,
            manifest_bytes=found.manifest_bytes,
            config_bytes=config_bytes,
            config=ImageConfig.from_json(config_bytes),
        )

    def _manifest(
        self,
        ref: Reference,
        target: str,
        name: str,
        expected_digest: str | None,
        expected_size: int | None,
    ) -> tuple[bytes, str, str | None]:
        """Bytes, digest and Content-Type of a manifest; verified when fetched by digest."""
        path = f"/v2/{ref.repository}/manifests/{target}"
        response = self._get(ref, path, {"Accept": mt.MANIFEST_ACCEPT}, name)
        try:
            if response.status_code == 404:
                raise NotFound(f"No image named '{name}' exists")
            if response.status_code != 200:
                raise self._failure(ref, response, f"manifest of {name}")
            data = _read_limited(response, MAX_MANIFEST, f"the manifest of {name}")
            content_type = response.headers.get("content-type")
            header_digest = response.headers.get("docker-content-digest", "")
        finally:
            response.close()
        if expected_digest is not None:
            verifier = DigestVerifier.for_digest(expected_digest)
            verifier.update(data)
            try:
                verifier.verify(expected_digest, expected_size)
            except DigestMismatch as exc:
                raise DigestMismatch(f"manifest of {name}: {exc.message}") from None
            return data, expected_digest, content_type
        digest = compute_digest(data)
        if (
            is_digest(header_digest)
            and header_digest.startswith("sha256:")
            and header_digest != digest
        ):
            raise DigestMismatch(
                f"manifest of {name}: {ref.registry} announced {header_digest[:19]} "
                f"but sent {digest[:19]}"
            )
        return data, digest, content_type

    def _small_blob(self, ref: Reference, blob: Descriptor, limit: int) -> bytes:
        if blob.size > limit:
            raise RegistryError(f"blob {blob.digest[:19]} is too large ({blob.size} bytes)")
        response = self._get(ref, f"/v2/{ref.repository}/blobs/{blob.digest}", {}, ref.familiar())
        try:
            if response.status_code != 200:
                raise self._failure(ref, response, f"blob {blob.digest[:19]}")
            data = _read_limited(response, blob.size, f"blob {blob.digest[:19]}")
        finally:
            response.close()
        verifier = DigestVerifier.for_digest(blob.digest)
        verifier.update(data)
        verifier.verify(blob.digest, blob.size)
        return data

    # -- blobs -----------------------------------------------------------------------------

    def fetch_blob(
        self,
        ref: Reference,
        blob: Descriptor,
        dest: Path,
        progress: Callable[[int], None] | None = None,
        rewound: Callable[[], None] | None = None,
    ) -> None:
        """Stream `blob` into `dest`, resuming what `dest` already holds; verify it.

        `progress(n)` follows each write: the first bytes reported so far are in `dest`
        (readable by another thread while the download goes on), until `rewound()` says
        that bytes already reported were dropped or are being written again.

        On a size or digest mismatch `dest` is deleted and DigestMismatch raised (after one
        fresh download when the mismatch may come from what an earlier attempt left). A
        transfer cut short is resumed with a Range request (bounded retries); if it still
        fails, `dest` keeps what arrived for a later call to resume.
        """
        report = progress or (lambda n: None)
        restart = rewound or (lambda: None)
        verifier = DigestVerifier.for_digest(blob.digest)
        resumed = self._hash_partial(dest, blob, verifier)
        if resumed:
            report(resumed)
        for fresh in (False, True):
            try:
                self._download(ref, blob, dest, verifier, report, restart)
                verifier.verify(blob.digest, blob.size)
                return
            except DigestMismatch as exc:
                dest.unlink(missing_ok=True)
                restart()
                if fresh or not resumed:
                    raise DigestMismatch(f"blob {blob.digest[:19]}: {exc.message}") from None
                verifier.reset()

    def _download(
        self,
        ref: Reference,
        blob: Descriptor,
        dest: Path,
        verifier: DigestVerifier,
        report: Callable[[int], None],
        restart: Callable[[], None],
    ) -> None:
        dest.touch()
        delay = self._transport.backoff
        attempt = 0
        while verifier.size < blob.size:
            attempt += 1
            try:
                self._stream_into(ref, blob, dest, verifier, report, restart)
            except _Incomplete as exc:
                if attempt >= self._transport.tries:
                    raise RegistryError(str(exc)) from None
                time.sleep(delay)
                delay *= 2
            except HTTPError as exc:
                if attempt >= self._transport.tries:
                    raise self._transport.unreachable(ref.registry, exc) from None
                time.sleep(delay)
                delay *= 2

    def _hash_partial(self, dest: Path, blob: Descriptor, verifier: DigestVerifier) -> int:
        """Feed what `dest` holds to `verifier`; start over if it cannot be a prefix."""
        try:
            size = dest.stat().st_size
        except FileNotFoundError:
            return 0
        if size > blob.size:
            dest.unlink()
            return 0
        with dest.open("rb") as partial:
            while chunk := partial.read(1 << 20):
                verifier.update(chunk)
        return size

    def _stream_into(
        self,
        ref: Reference,
        blob: Descriptor,
        dest: Path,
        verifier: DigestVerifier,
        report: Callable[[int], None],
        restart: Callable[[], None],
    ) -> None:
        offset = verifier.size
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        path = f"/v2/{ref.repository}/blobs/{blob.digest}"
        response = self._get(ref, path, headers, ref.familiar())
        try:
            if response.status_code == 206 and offset:
                match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
                if match is None or int(match.group(1)) != offset:
                    verifier.reset()
                    restart()
                    raise _Incomplete(f"{ref.registry} answered a bad range for {blob.digest}")
            elif response.status_code in (200, 416) and offset:
                # The server ignores or refuses ranges: start again from the first byte.
                verifier.reset()
                restart()
                offset = 0
                if response.status_code == 416:
                    return
            elif response.status_code != 200:
                raise self._failure(ref, response, f"blob {blob.digest[:19]}")
            # Unbuffered: what `report` announces must already be in the file for a reader.
            with open(dest, "r+b" if dest.exists() else "wb", buffering=0) as out:
                out.seek(offset)
                # Only a file longer than `offset` is cut: btrfs writes a file truncated to
                # 0 bytes back to disk when it is closed (BTRFS_INODE_FLUSH_ON_CLOSE, set
                # even when it was empty already), and that close precedes the blob's
                # verification, so the applied layer waited for the blob's writeback
                # (6.4% of a cold pull's CPU samples were in btrfs_release_file; 8
                # interleaved runs on the loaded 2-core machine: CPU of the 78 MB / 4-layer
                # pull 513 -> 459 ms, of one new 10 MB layer 128 -> 112 ms).
                if os.fstat(out.fileno()).st_size > offset:
                    out.truncate()
                for chunk in response.iter_bytes():
                    if verifier.size + len(chunk) > blob.size:
                        raise DigestMismatch(f"more than the {blob.size} bytes expected")
                    view = memoryview(chunk)
                    while view:
                        view = view[out.write(view) :]
                    verifier.update(chunk)
                    report(len(chunk))
            if verifier.size < blob.size:
                raise _Incomplete(
                    f"{ref.registry} sent {verifier.size} of {blob.size} bytes of {blob.digest}"
                )
        finally:
            response.close()

    # -- requests --------------------------------------------------------------------------

    def _get(self, ref: Reference, path: str, headers: dict[str, str], name: str) -> Response:
        return self.send(ref, "GET", path, headers, name)

    def send(
        self,
        ref: Reference,
        method: str,
        path: str,
        headers: dict[str, str],
        name: str,
        *,
        scope: str | None = None,
        body: Body = None,
        tries: int | None = None,
    ) -> Response:
        """A request with the registry's auth dance: one answer to a 401, then a clear error.

        `path` is a path on the registry or an absolute URL it gave (an upload's Location);
        `scope` defaults to pulling `ref`'s repository (several scopes: space-separated).
        A file `body` is sent from where it stands at the call, again for every attempt.
        """
        scope = scope or f"repository:{ref.repository}:pull"
        url = path if "://" in path else self._transport.url(ref.registry, path)
        start = body.tell() if body is not None and not isinstance(body, bytes) else 0
        sent: dict[str, str] = {}
        reason = ""
        for attempt in range(2):
            sent = self._auth.authorization(ref.registry, scope)
            if attempt and body is not None and not isinstance(body, bytes):
                body.seek(start)
            response = self._transport.send(
                method, url, {**headers, **sent}, registry=ref.registry, body=body, tries=tries
            )
            if response.status_code != 401:
                return response
            challenge = response.headers.get("www-authenticate", "")
            reason = error_reason(response)
            response.close()
            if attempt == 0:
                if not challenge:
                    raise self._auth.refused(ref.registry, reason)
                self._auth.answer(ref.registry, scope, challenge, sent)
        if sent.get("Authorization", "").startswith("Basic "):
            raise self._auth.refused(ref.registry, f"{PASSWORD_REFUSED} ({reason})")
        creds = self._auth.credentials(ref.registry)
        raise _Denied(
            f"access to {name} denied by {ref.registry}: {reason}",
            hint="the repository may not exist, or may be private: " + CREDENTIALS_HINT
            if creds is None
            else "the repository may not exist, or these credentials may not read it",
        )

    def check_login(self, registry: str) -> None:
        """GET /v2/ answering the registry's challenge with the configured credentials, as
        `docker login` checks them; RegistryError when they are refused."""
        url = self._transport.url(registry, "/v2/")
        sent: dict[str, str] = {}
        for attempt in range(2):
            response = self._transport.send("GET", url, sent, registry=registry)
            with response:
                if response.status_code == 200:
                    return
                if response.status_code != 401:
                    raise RegistryError(f"{registry} refused the login: {error_reason(response)}")
                challenge = response.headers.get("www-authenticate", "")
                reason = error_reason(response)
            if attempt or not challenge:
                raise self._auth.refused(registry, f"{PASSWORD_REFUSED} ({reason})")
            self._auth.answer(registry, "", challenge, sent)  # a token with no scope
            sent = self._auth.authorization(registry, "")
        raise AssertionError("unreachable: the loop returns or raises")

    def url(self, registry: str, path: str) -> str:
        return self._transport.url(registry, path)

    @property
    def tries(self) -> int:
        return self._transport.tries

    @property
    def backoff(self) -> float:
        return self._transport.backoff

    def failure(self, ref: Reference, response: Response, what: str) -> RegistryError:
        """The error for an unexpected answer to a request about `what`."""
        return self._failure(ref, response, what)

    def _failure(self, ref: Reference, response: Response, what: str) -> RegistryError:
        reason = error_reason(response)
        status = response.status_code
        if status == 429:
            return RegistryError(f"{ref.registry} refused {what}: too many requests ({reason})")
        if status >= 500:
            return RegistryError(f"{ref.registry} failed to send {what}: {reason}")
        return RegistryError(f"{ref.registry} refused {what}: {reason}")
