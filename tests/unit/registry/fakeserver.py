"""An in-process HTTP server on a loopback address that plays a registry, a token realm or a
CDN, one scripted route at a time, and records every request it sees."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from shocker.oci import mediatypes as mt


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lowercase names


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Announce the whole body but send only this many bytes, then drop the connection.
    cut_after: int | None = None


Handler = Callable[[Seen], Reply]


def registry_error(status: int, code: str, message: str, **headers: str) -> Reply:
    body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
    return Reply(status, body, {"Content-Type": "application/json", **headers})


def blob_handler(data: bytes, *, ranges: bool = True, cut_after: int | None = None) -> Handler:
    """Serves `data`, honouring `Range: bytes=N-` when `ranges`; the first answer may be cut."""
    cuts = [cut_after]

    def handle(seen: Seen) -> Reply:
        cut = cuts.pop() if cuts else None
        match = re.match(r"bytes=(\d+)-$", seen.headers.get("range", ""))
        if ranges and match:
            start = int(match.group(1))
            if start >= len(data):
                return Reply(416, headers={"Content-Range": f"bytes */{len(data)}"})
            return Reply(
                206,
                data[start:],
                {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"},
                cut_after=cut,
            )
        return Reply(200, data, cut_after=cut)

    return handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up mid-body (digest or size checks) are expected here.
        return


class FakeServer:
    def __init__(self, address: str = "127.0.0.1") -> None:
        self.routes: dict[str, Handler | Reply | list[Reply]] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server = _Server((address, 0), _handler_class(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def host(self) -> str:
        address, port = self._server.server_address[:2]
        return f"{address!s}:{port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def route(self, path: str, answer: Handler | Reply | list[Reply]) -> None:
        self.routes[path] = answer

    def requests(self, path: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.path == path]

    def answer(self, seen: Seen) -> Reply:
        with self._lock:
            self.seen.append(seen)
            answer = self.routes.get(seen.path)
            if isinstance(answer, list):
                answer = answer.pop(0) if len(answer) > 1 else answer[0]
        if answer is None:
            return registry_error(404, "NAME_UNKNOWN", "repository name not known to registry")
        return answer if isinstance(answer, Reply) else answer(seen)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _handler_class(owner: FakeServer) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; without this, Nagle plus delayed ACKs cost
        # 40 ms a request.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            split = urlsplit(self.path)
            seen = Seen(
                "GET",
                split.path,
                parse_qs(split.query),
                {k.lower(): v for k, v in self.headers.items()},
            )
            reply = owner.answer(seen)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            if reply.cut_after is not None:
                self.send_header("Connection", "close")
            self.end_headers()
            if reply.cut_after is None:
                self.wfile.write(reply.body)
                return
            self.wfile.write(reply.body[: reply.cut_after])
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            return

    return RequestHandler


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class FakeImage:
    manifest: bytes
    digest: str
    config: bytes
    layers: tuple[bytes, ...]

    def layer_descriptor(self, i: int) -> dict[str, Any]:
        layers: list[dict[str, Any]] = json.loads(self.manifest)["layers"]
        return layers[i]


def make_image(layers: list[bytes], arch: str = "amd64", media: str = mt.OCI_MANIFEST) -> FakeImage:
    config = json.dumps(
        {
            "architecture": arch,
            "os": "linux",
            "config": {"Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": [sha(layer) for layer in layers]},
        }
    ).encode()
    config_type = mt.OCI_CONFIG if media == mt.OCI_MANIFEST else mt.DOCKER_CONFIG
    layer_type = mt.OCI_LAYER if media == mt.OCI_MANIFEST else mt.DOCKER_LAYER
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": media,
            "config": {"mediaType": config_type, "digest": sha(config), "size": len(config)},
            "layers": [
                {"mediaType": layer_type, "digest": sha(layer), "size": len(layer)}
                for layer in layers
            ],
        }
    ).encode()
    return FakeImage(manifest, sha(manifest), config, tuple(layers))


def publish(server: FakeServer, repository: str, tag: str, image: FakeImage) -> None:
    """Serve `image` as repository:tag (by tag and by digest) with its blobs."""
    media = json.loads(image.manifest)["mediaType"]
    answer = Reply(
        200, image.manifest, {"Content-Type": media, "Docker-Content-Digest": image.digest}
    )
    server.route(f"/v2/{repository}/manifests/{tag}", answer)
    server.route(f"/v2/{repository}/manifests/{image.digest}", answer)
    server.route(f"/v2/{repository}/blobs/{sha(image.config)}", Reply(200, image.config))
    for layer in image.layers:
        server.route(f"/v2/{repository}/blobs/{sha(layer)}", blob_handler(layer))


def publish_index(
    server: FakeServer, repository: str, tag: str, entries: list[tuple[dict[str, str], FakeImage]]
) -> bytes:
    """An OCI index of `entries` (platform dict, image) as repository:tag; returns its bytes."""
    for _, image in entries:
        publish(server, repository, image.digest, image)
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mt.OCI_INDEX,
            "manifests": [
                {
                    "mediaType": mt.OCI_MANIFEST,
                    "digest": image.digest,
                    "size": len(image.manifest),
                    "platform": platform,
                }
                for platform, image in entries
            ],
        }
    ).encode()
    server.route(
        f"/v2/{repository}/manifests/{tag}", Reply(200, index, {"Content-Type": mt.OCI_INDEX})
    )
    return index
