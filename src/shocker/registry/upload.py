"""The push side of the OCI distribution spec: blob existence, cross-repository mounts, blob
uploads (monolithic, or chunked PATCHes resumed after a dropped connection) and the manifest.

Spec: distribution-spec `spec.md`, "Pushing blobs", "Pushing a blob in chunks", "Mounting a
blob from another repository", "Pushing Manifests". Every request goes through
RegistryClient.send, so Basic and Bearer auth (with push scope) are the pull's code.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urljoin

from shocker.errors import DigestMismatch, RegistryError
from shocker.oci.digest import compute_digest, is_digest
from shocker.oci.reference import Reference
from shocker.registry.client import RegistryClient
from shocker.registry.transport import Unreachable
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import BinaryIO

    from shocker.registry.http import Body, Response

# Up to this size a blob goes in one PUT; above, in PATCHes of CHUNK_SIZE bytes, each one
# a point to resume from. 32 MiB chunks keep the requests per layer few on a fast link.
MONOLITHIC_MAX = 16 << 20
CHUNK_SIZE = 32 << 20
_RANGE = re.compile(r"^(?:bytes=)?0-(\d+)$")
_OCTETS = "application/octet-stream"


def push_scope(ref: Reference, mount_from: str | None = None) -> str:
    scope = f"repository:{ref.repository}:pull,push"
    if mount_from is not None and mount_from != ref.repository:
        scope += f" repository:{mount_from}:pull"
    return scope


class Uploader:
    """Pushes blobs and a manifest to one repository (`ref`); safe to share between threads."""

    def __init__(self, client: RegistryClient, ref: Reference) -> None:
        self.client = client
        self.ref = ref
        self.name = ref.familiar()
        self.scope = push_scope(ref)

    def _send(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        *,
        body: Body = None,
        scope: str | None = None,
        tries: int | None = None,
    ) -> Response:
        return self.client.send(
            self.ref,
            method,
            path,
            headers or {},
            self.name,
            scope=scope or self.scope,
            body=body,
            tries=tries,
        )

    def _location(self, response: Response, base: str) -> str:
        location = response.headers.get("location")
        if not location:
            raise RegistryError(f"{self.ref.registry} gave no upload location")
        return urljoin(base, location)

    def _blobs(self) -> str:
        return f"/v2/{self.ref.repository}/blobs"

    # -- what the registry has -----------------------------------------------------------

    def has_blob(self, digest: str) -> bool:
        """HEAD: whether the repository has the blob already."""
        with self._send("HEAD", f"{self._blobs()}/{digest}") as response:
            if response.status_code == 200:
                return True
            if response.status_code == 404:
                return False
            raise self.client.failure(self.ref, response, f"blob {digest[:19]}")

    def mount(self, digest: str, source: str) -> str | None:
        """Mount `digest` from repository `source` of the same registry. None when mounted;
        else the location of the upload the registry started instead (it may not know the
        blob there, or refuse to mount)."""
        query = f"mount={quote(digest)}&from={quote(source)}"
        path = f"{self._blobs()}/uploads/?{query}"
        scope = push_scope(self.ref, source)
        with self._send("POST", path, {"Content-Length": "0"}, scope=scope) as response:
            if response.status_code == 201:
                return None
            if response.status_code == 202:
                return self._location(response, self.client.url(self.ref.registry, path))
            raise self.client.failure(self.ref, response, f"a mount of blob {digest[:19]}")

    # -- uploads ---------------------------------------------------------------------------

    def _start(self) -> str:
        path = f"{self._blobs()}/uploads/"
        with self._send("POST", path, {"Content-Length": "0"}) as response:
            if response.status_code != 202:
                raise self.client.failure(self.ref, response, "an upload")
            return self._location(response, self.client.url(self.ref.registry, path))

    def upload(
        self,
        digest: str,
        size: int,
        path: Path,
        progress: Callable[[int], None] | None = None,
        location: str | None = None,
    ) -> None:
        """Upload the blob in `path` (which the caller verified) as `digest`.

        `location`: an upload already started (by a mount the registry declined).
        """
        report = progress or (lambda n: None)
        with open(path, "rb") as blob:
            if size <= MONOLITHIC_MAX:
                self._monolithic(digest, size, blob, report, location)
            else:
                self._chunked(digest, size, blob, report, location)

    def _monolithic(
        self,
        digest: str,
        size: int,
        blob: BinaryIO,
        report: Callable[[int], None],
        location: str | None,
    ) -> None:
        delay = self.client.backoff
        for attempt in range(1, self.client.tries + 1):
            try:
                location = location or self._start()
                blob.seek(0)
                headers = {"Content-Type": _OCTETS, "Content-Length": str(size)}
                with self._send(
                    "PUT", _with_digest(location, digest), headers, body=blob, tries=1
                ) as response:
                    if response.status_code not in (201, 204):
                        raise self.client.failure(self.ref, response, f"blob {digest[:19]}")
                report(size)
                return
            except Unreachable:
                if attempt == self.client.tries:
                    raise
                location = None  # what the dropped PUT left there is unknown: a new upload
                time.sleep(delay)
                delay *= 2

    def _chunked(
        self,
        digest: str,
        size: int,
        blob: BinaryIO,
        report: Callable[[int], None],
        location: str | None,
    ) -> None:
        location = location or self._start()
        offset = 0
        failures = restarts = 0
        delay = self.client.backoff
        while True:
            try:
                if offset < size:
                    answer = self._patch(location, blob, offset, size)
                    if answer is None:
                        # The registry does not have the upload where we stand (it forgot
                        # it, or an ambiguous `Range: 0-0` misled us): a new upload, a few
                        # times at most.
                        restarts += 1
                        if restarts > self.client.tries:
                            raise RegistryError(
                                f"{self.ref.registry} kept refusing the chunks of blob "
                                f"{digest[:19]}"
                            )
                        location, received = self._start(), 0
                    else:
                        location, received = answer
                        failures = 0
                    report(received - offset)
                    offset = received
                    continue
                headers = {"Content-Length": "0"}
                with self._send("PUT", _with_digest(location, digest), headers, tries=1) as done:
                    if done.status_code in (201, 204):
                        return
                    raise self.client.failure(self.ref, done, f"blob {digest[:19]}")
            except Unreachable:
                failures += 1
                if failures >= self.client.tries:
                    raise
                time.sleep(delay)
                delay *= 2
                if offset >= size and self.has_blob(digest):
                    return  # the PUT arrived; its answer did not
                location, received = self._resume(location)
                report(received - offset)  # the bar shows what the registry holds
                offset = received

    def _patch(
        self, location: str, blob: BinaryIO, offset: int, size: int
    ) -> tuple[str, int] | None:
        """One chunk from `offset`; the next location and the bytes the registry holds, or
        None when the registry refuses the chunk at that upload and offset."""
        end = min(offset + CHUNK_SIZE, size)
        blob.seek(offset)
        headers = {
            "Content-Type": _OCTETS,
            "Content-Range": f"{offset}-{end - 1}",
            "Content-Length": str(end - offset),
        }
        with self._send("PATCH", location, headers, body=blob, tries=1) as response:
            if response.status_code in (400, 404, 416):
                return None
            if response.status_code != 202:
                raise self.client.failure(self.ref, response, "a blob chunk")
            return self._location(response, location), _received(response, end)

    def _resume(self, location: str) -> tuple[str, int]:
        """Where an upload stands after a dropped connection: its location and the bytes the
        registry holds. An upload the registry gave up (distribution cancels one whose chunk
        was cut short) starts again as a new upload."""
        with self._send("GET", location) as response:
            if response.status_code in (200, 204):
                return self._location(response, location), _received(response, 0)
            if response.status_code not in (400, 404, 416):
                raise self.client.failure(self.ref, response, "the state of an upload")
        return self._start(), 0

    # -- the manifest ----------------------------------------------------------------------

    def put_manifest(self, tag: str, data: bytes, media_type: str) -> str:
        """PUT the manifest under `tag`; the digest the registry gives it (checked against
        our own when it says one)."""
        ours = compute_digest(data)
        headers = {"Content-Type": media_type}
        path = f"/v2/{self.ref.repository}/manifests/{tag}"
        with self._send("PUT", path, headers, body=data) as response:
            if response.status_code not in (200, 201, 204):
                raise self.client.failure(self.ref, response, f"the manifest of {self.name}")
            theirs = response.headers.get("docker-content-digest", "")
        if is_digest(theirs) and theirs.startswith("sha256:") and theirs != ours:
            raise DigestMismatch(
                f"{self.ref.registry} stored the manifest of {self.name} as {theirs[:19]}, "
                f"not {ours[:19]}"
            )
        return theirs if is_digest(theirs) else ours


def _with_digest(location: str, digest: str) -> str:
    return location + ("&" if "?" in location else "?") + f"digest={quote(digest)}"


def _received(response: Response, default: int) -> int:
    """Bytes the registry holds, from its `Range: 0-N` header (N the last byte's offset).

    distribution answers `0-0` both for nothing and for one byte: taken as nothing (resent,
    that byte only earns a 416 and a fresh upload).
    """
    match = _RANGE.match(response.headers.get("range", "").strip())
    if match is None:
        return default
    last = int(match.group(1))
    return last + 1 if last else 0
