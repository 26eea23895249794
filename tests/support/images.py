"""Images the tests pull, built in Python (busybox-static rootfs, whiteouts, zstd, multi-arch,
hostile layers) and pushed with `push.Pusher`. Each known image is a `PushedImage`."""

from __future__ import annotations

import functools
import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import tarbuild as tb
from tests.support.push import Pusher

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = {
    tb.GZIP: "application/vnd.oci.image.layer.v1.tar+gzip",
    tb.ZSTD: "application/vnd.oci.image.layer.v1.tar+zstd",
    tb.PLAIN: "application/vnd.oci.image.layer.v1.tar",
}
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
IN_TOTO = "application/vnd.in-toto+json"

BUSYBOX = "/bin/busybox"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ISSUE = "Welcome to shocker's busybox\n"


def host_arch() -> str:
    """The OCI architecture of this machine, as an index entry names it."""
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "armv6l": "arm"}.get(
        machine, machine
    )


def other_arch() -> str:
    """The architecture of the multi-arch test image that is NOT this machine's."""
    return "arm64" if host_arch() == "amd64" else "amd64"


@dataclass(frozen=True)
class Layer:
    blob: bytes
    diff_id: str
    compression: str

    @property
    def digest(self) -> str:
        return tb.sha256_digest(self.blob)


def layer(members: Sequence[tb.Member], compression: str = tb.GZIP) -> Layer:
    tar = tb.tar_bytes(members)
    return Layer(tb.compress(tar, compression), tb.sha256_digest(tar), compression)


@dataclass(frozen=True)
class PushedImage:
    """An image in the test registry. `name` is what a user types with SHOCKER_REGISTRY set."""

    name: str
    tag: str
    digest: str  # of the manifest (or index) the tag points to
    media_type: str
    layer_digests: tuple[str, ...] = ()
    diff_ids: tuple[str, ...] = ()
    config_digest: str = ""

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.tag}"

    @property
    def by_digest(self) -> str:
        return f"{self.name}@{self.digest}"

    @property
    def short_layer_ids(self) -> tuple[str, ...]:
        """What `Pulling layer` lines show: 12 hex digits of each layer digest."""
        return tuple(d.partition(":")[2][:12] for d in self.layer_digests)


def repository_of(name: str) -> str:
    """Docker Hub naming, which SHOCKER_REGISTRY keeps: one-part names live under library/."""
    return name if "/" in name else f"library/{name}"


def image_config(
    layers: Sequence[Layer], arch: str = "amd64", config: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "created": "2023-11-14T22:13:20Z",
        "architecture": arch,
        "os": "linux",
        "config": config if config is not None else {"Env": [PATH_ENV], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [item.diff_id for item in layers]},
        "history": [{"created": "2023-11-14T22:13:20Z", "created_by": "tests"} for _ in layers],
    }


def push_image(
    pusher: Pusher,
    name: str,
    layers: Sequence[Layer],
    tags: Sequence[str] = ("latest",),
    arch: str = "amd64",
    config: dict[str, Any] | None = None,
    docker_media_types: bool = False,
    push_tags: bool = True,
    repository: str | None = None,
) -> PushedImage:
    """Push layers, config and a manifest (OCI, or Docker schema 2) under each tag.

    `repository` overrides where it goes (default: Docker Hub naming of `name`); with
    `push_tags=False` the manifest is stored by digest only (an index entry).
    """
    repository = repository or repository_of(name)
    config_blob = json.dumps(image_config(layers, arch, config)).encode()
    config_digest = pusher.push_blob(repository, config_blob)
    for item in layers:
        pusher.push_blob(repository, item.blob)
    manifest_type = DOCKER_MANIFEST if docker_media_types else OCI_MANIFEST
    manifest = {
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {
            "mediaType": DOCKER_CONFIG if docker_media_types else OCI_CONFIG,
            "digest": config_digest,
            "size": len(config_blob),
        },
        "layers": [
            {
                "mediaType": DOCKER_LAYER if docker_media_types else OCI_LAYER[item.compression],
                "digest": item.digest,
                "size": len(item.blob),
            }
            for item in layers
        ],
    }
    references = list(tags) if push_tags else []
    digest = ""
    for reference in references or [tb.sha256_digest(json.dumps(manifest, indent=3).encode())]:
        digest = pusher.push_manifest(repository, reference, manifest, manifest_type)
    return PushedImage(
        name,
        tags[0],
        digest,
        manifest_type,
        tuple(item.digest for item in layers),
        tuple(item.diff_id for item in layers),
        config_digest,
    )


@dataclass(frozen=True)
class IndexEntry:
    image: PushedImage
    size: int
    platform: dict[str, str]
    annotations: dict[str, str] = field(default_factory=dict)


def push_index(
    pusher: Pusher, name: str, entries: Sequence[IndexEntry], tag: str = "latest"
) -> PushedImage:
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": entry.image.media_type,
                "digest": entry.image.digest,
                "size": entry.size,
                "platform": entry.platform,
                **({"annotations": entry.annotations} if entry.annotations else {}),
            }
            for entry in entries
        ],
    }
    digest = pusher.push_manifest(repository_of(name), tag, index, OCI_INDEX)
    return PushedImage(name, tag, digest, OCI_INDEX)


def manifest_size(pusher: Pusher, name: str, digest: str) -> int:
    repository = repository_of(name)
    response = pusher.request(
        "GET",
        f"/v2/{repository}/manifests/{digest}",
        repository,
        headers={"Accept": f"{OCI_MANIFEST}, {DOCKER_MANIFEST}, {OCI_INDEX}"},
    )
    response.raise_for_status()
    return len(response.content)


@functools.cache
def busybox_members() -> tuple[tb.Member, ...]:
    """A minimal busybox root filesystem from the host's static busybox binary."""
    applets = subprocess.run(
        [BUSYBOX, "--list-full"], check=True, capture_output=True, text=True
    ).stdout.split()
    dirs = ["bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "home", "var", "var/log",
            "proc", "sys", "dev", "run", "mnt"]  # fmt: skip
    members = [tb.directory(d) for d in dirs]
    members += [tb.directory("tmp", 0o1777), tb.directory("root", 0o700)]
    members.append(tb.file("bin/busybox", Path(BUSYBOX).read_bytes(), 0o755))
    members += [tb.symlink(path, "/bin/busybox") for path in applets if path != "bin/busybox"]
    members += [
        tb.file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
                "nobody:x:65534:65534:nobody:/home:/bin/false\n"),
        tb.file("etc/group", "root:x:0:\nnogroup:x:65534:\n"),
        tb.file("etc/issue", ISSUE),
        tb.file("etc/hostname", "busybox\n"),
    ]  # fmt: skip
    return tuple(members)


@functools.cache
def busybox_layer() -> Layer:
    return layer(busybox_members())


def push_busybox(
    pusher: Pusher, name: str = "busybox", tags: Sequence[str] = ("latest",)
) -> PushedImage:
    """The busybox image, with Docker schema 2 media types (as Docker Hub serves it)."""
    return push_image(pusher, name, [busybox_layer()], tags, docker_media_types=True)


def random_layer(size_bytes: int, name: str = "data/blob", seed: bytes | None = None) -> Layer:
    """A layer of incompressible bytes: a single file of `size_bytes` random data."""
    data = os.urandom(size_bytes) if seed is None else seeded_bytes(seed, size_bytes)
    return layer([tb.directory("data"), tb.file(name, data)])


def seeded_bytes(seed: bytes, size_bytes: int) -> bytes:
    """Incompressible bytes that are the same on every call (SHAKE-256 of `seed`)."""
    import hashlib

    return hashlib.shake_256(seed).digest(size_bytes)
