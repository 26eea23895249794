"""Push blobs and manifests to a Registry v2 over its HTTP API (OCI distribution spec).

Handles the three auth modes the test registries use: none, Basic, and Bearer tokens from a
realm (scope `repository:NAME:pull,push`). Used by fixtures and benches, never by shocker.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import httpx

from tests.support.tarbuild import sha256_digest


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="x",service="y"` -> ("bearer", {"realm": "x", "service": "y"})."""
    scheme, _, rest = header.partition(" ")
    params: dict[str, str] = {}
    for part in rest.split(","):
        key, _, value = part.strip().partition("=")
        if key:
            params[key.lower()] = value.strip('"')
    return scheme.lower(), params


@dataclass
class Pusher:
    """An HTTP client for one registry; `credentials` are (user, password) when it needs them."""

    base_url: str
    credentials: tuple[str, str] | None = None
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60.0))
    _tokens: dict[str, str] = field(default_factory=dict)
    _basic: bool = False

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Pusher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _auth_headers(self, repository: str) -> dict[str, str]:
        if repository in self._tokens:
            return {"Authorization": f"Bearer {self._tokens[repository]}"}
        if self._basic and self.credentials:
            user, password = self.credentials
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            return {"Authorization": f"Basic {token}"}
        return {}

    def _authenticate(self, repository: str, challenge: str) -> None:
        scheme, params = parse_challenge(challenge)
        if scheme == "basic":
            if not self.credentials:
                raise RuntimeError("registry wants Basic credentials and none were given")
            self._basic = True
            return
        query = {
            "service": params.get("service", ""),
            "scope": f"repository:{repository}:pull,push",
        }
        auth = httpx.BasicAuth(*self.credentials) if self.credentials else None
        response = self.client.get(params["realm"], params=query, auth=auth)
        response.raise_for_status()
        body = response.json()
        self._tokens[repository] = body.get("token") or body["access_token"]

    def request(
        self,
        method: str,
        url: str,
        repository: str,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """One request, authenticating once when the registry answers 401."""
        full = url if url.startswith("http") else urljoin(self.base_url, url)
        for attempt in range(2):
            merged = {**(headers or {}), **self._auth_headers(repository)}
            response = self.client.request(method, full, headers=merged, content=content)
            if response.status_code != 401 or attempt == 1:
                return response
            self._authenticate(repository, response.headers.get("WWW-Authenticate", ""))
        raise AssertionError("unreachable")

    def push_blob(self, repository: str, data: bytes) -> str:
        """Upload `data` (monolithic POST + PUT) unless the registry has it; return its digest."""
        digest = sha256_digest(data)
        head = self.request("HEAD", f"/v2/{repository}/blobs/{digest}", repository)
        if head.status_code == 200:
            return digest
        start = self.request("POST", f"/v2/{repository}/blobs/uploads/", repository)
        if start.status_code != 202:
            raise RuntimeError(f"upload start {start.status_code}: {start.text}")
        location = urljoin(self.base_url, start.headers["Location"])
        separator = "&" if "?" in location else "?"
        done = self.request(
            "PUT",
            f"{location}{separator}digest={digest}",
            repository,
            headers={"Content-Type": "application/octet-stream"},
            content=data,
        )
        if done.status_code != 201:
            raise RuntimeError(f"upload of {digest} {done.status_code}: {done.text}")
        return digest

    def push_manifest(
        self, repository: str, reference: str, manifest: Mapping[str, Any], media_type: str
    ) -> str:
        """PUT a manifest or index under a tag (or digest); return the manifest's digest."""
        body = json.dumps(manifest, indent=3).encode()
        response = self.request(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            repository,
            headers={"Content-Type": media_type},
            content=body,
        )
        if response.status_code != 201:
            raise RuntimeError(
                f"manifest {repository}:{reference} {response.status_code}: {response.text}"
            )
        return sha256_digest(body)

    def delete_manifest(self, repository: str, digest: str) -> None:
        self.request("DELETE", f"/v2/{repository}/manifests/{digest}", repository)
