"""The set of images every integration session pushes to its open registry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tests.support import tarbuild as tb
from tests.support.images import (
    IN_TOTO,
    OCI_CONFIG,
    OCI_MANIFEST,
    IndexEntry,
    PushedImage,
    busybox_layer,
    layer,
    manifest_size,
    push_busybox,
    push_image,
    push_index,
    repository_of,
)
from tests.support.push import Pusher

# Files the layered image leaves or hides (see `layered_layers`).
LAYERED_PRESENT = ("data/keep", "opaque/new", "opaque/sub-new/inner")
LAYERED_ABSENT = ("data/gone", "data/dir", "opaque/old", "opaque/sub", "data/.wh.gone")

# Everything a hostile layer tries to reach lives in the canary directory.
VICTIM = "victim"
VICTIM_CONTENT = "original\n"


@dataclass(frozen=True)
class ImageSet:
    busybox: PushedImage  # Docker schema 2 media types, repository library/busybox
    busybox_toplevel: PushedImage  # the same image under the one-part repository "busybox"
    layered: PushedImage  # OCI: whiteouts and an opaque directory
    layered_sibling: PushedImage  # shares all but the top layer with `layered`
    zstd: PushedImage
    plain: PushedImage  # an uncompressed tar layer
    multiarch: PushedImage  # index: amd64, arm64, attestation unknown/unknown
    multiarch_platforms: dict[str, PushedImage]
    foreign: PushedImage  # index without this machine's platform
    hostile: dict[str, PushedImage]
    canary: Path


def layered_layers() -> list[tb.Member]:
    return [
        tb.directory("data"),
        tb.file("data/keep", "keep\n"),
        tb.file("data/gone", "gone\n"),
        tb.directory("data/dir"),
        tb.file("data/dir/a", "a\n"),
        tb.directory("opaque"),
        tb.file("opaque/old", "old\n"),
        tb.directory("opaque/sub"),
        tb.file("opaque/sub/old2", "old2\n"),
    ]


def layered_top() -> list[tb.Member]:
    # The opaque marker comes after new entries of the same layer on purpose: it hides only
    # what lower layers put there (OCI image spec, layer.md "Opaque Whiteout").
    return [
        tb.directory("opaque"),
        tb.file("opaque/new", "new\n"),
        tb.directory("opaque/sub-new"),
        tb.file("opaque/sub-new/inner", "inner\n"),
        tb.opaque("opaque"),
        tb.whiteout("data/gone"),
        tb.whiteout("data/dir"),
    ]


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def hostile_members(canary: Path) -> dict[str, list[tb.Member]]:
    """Layers that try to write into `canary` (an absolute host path) or elsewhere outside.

    One attack per layer, so that a layer refused at its first member hides no other case.
    Hardlink layers first create their target inside the image, where a contained link resolves.
    """
    up = "../" * 40
    inside = str(canary).lstrip("/")
    victim_inside = [tb.directory(part) for part in _parents(f"{inside}/{VICTIM}")]
    victim_inside.append(tb.file(f"{inside}/{VICTIM}", "the image's own victim\n"))
    return {
        "traversal": [tb.file("../../escape-traversal", "pwned\n")],
        "deep-traversal": [tb.file(f"{up}{inside}/traversal", "pwned\n")],
        "middle-dotdot": [tb.file(f"usr/../../../{inside}/dotdot-middle", "pwned\n")],
        "absolute": [tb.file(f"{canary}/absolute", "pwned\n")],
        "absolute-dir": [tb.directory(f"{canary}/absolute-dir")],
        "symlink-root": [
            tb.symlink("link", "/"),
            tb.file(f"link/{inside}/through-root-link", "pwned\n"),
        ],
        "symlink-relative": [
            tb.symlink("rel", up.rstrip("/")),
            tb.file(f"rel/{inside}/through-relative-link", "pwned\n"),
        ],
        "symlink-dir": [
            tb.symlink("dirlink", str(canary)),
            tb.file("dirlink/through-dir-link", "pwned\n"),
        ],
        "symlink-replaced-by-file": [
            tb.symlink("victim-symlink", f"{canary}/{VICTIM}"),
            tb.file("victim-symlink", "pwned\n"),
        ],
        "hardlink-absolute": [
            *victim_inside,
            tb.hardlink("victim-link", f"{canary}/{VICTIM}"),
            tb.file("victim-link", "pwned\n"),
        ],
        "hardlink-relative": [
            *victim_inside,
            tb.hardlink("rel-victim-link", f"{up}{inside}/{VICTIM}"),
            tb.file("rel-victim-link", "pwned\n"),
        ],
        "hardlink-passwd": [
            tb.directory("etc"),
            tb.file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
            tb.hardlink("passwd-link", "/etc/passwd"),
            tb.file("passwd-link", "pwned\n"),
        ],
    }


HOSTILE_KINDS = tuple(hostile_members(Path("/canary")))


def _attestation(pusher: Pusher, name: str, subject: PushedImage) -> tuple[PushedImage, int]:
    """A BuildKit-style attestation manifest: platform unknown/unknown, in-toto layer."""
    repository = repository_of(name)
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v0.1"}).encode()
    config = json.dumps(
        {"architecture": "unknown", "os": "unknown", "config": {},
         "rootfs": {"type": "layers", "diff_ids": [tb.sha256_digest(statement)]}}
    ).encode()  # fmt: skip
    config_digest = pusher.push_blob(repository, config)
    statement_digest = pusher.push_blob(repository, statement)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
        "layers": [
            {
                "mediaType": IN_TOTO,
                "digest": statement_digest,
                "size": len(statement),
                "annotations": {"in-toto.io/predicate-type": "https://spdx.dev/Document"},
            }
        ],
    }
    digest = pusher.push_manifest(
        repository,
        tb.sha256_digest(json.dumps(manifest, indent=3).encode()),
        manifest,
        OCI_MANIFEST,
    )
    image = PushedImage(name, "", digest, OCI_MANIFEST, (statement_digest,), (), config_digest)
    return image, manifest_size(pusher, name, digest)


def _arch_image(pusher: Pusher, name: str, arch: str, variant: str = "") -> tuple[PushedImage, int]:
    marker = layer([tb.directory("etc"), tb.file("etc/arch", f"{arch}{variant}\n")])
    base = [busybox_layer()] if arch == "amd64" else []
    image = push_image(pusher, name, [*base, marker], arch=arch, push_tags=False)
    return image, manifest_size(pusher, name, image.digest)


def push_multiarch(pusher: Pusher, name: str) -> tuple[PushedImage, dict[str, PushedImage]]:
    amd64, amd64_size = _arch_image(pusher, name, "amd64")
    arm64, arm64_size = _arch_image(pusher, name, "arm64")
    attestation, attestation_size = _attestation(pusher, name, amd64)
    entries = [
        IndexEntry(amd64, amd64_size, {"architecture": "amd64", "os": "linux"}),
        IndexEntry(arm64, arm64_size, {"architecture": "arm64", "os": "linux", "variant": "v8"}),
        IndexEntry(
            attestation,
            attestation_size,
            {"architecture": "unknown", "os": "unknown"},
            {
                "vnd.docker.reference.digest": amd64.digest,
                "vnd.docker.reference.type": "attestation-manifest",
            },
        ),
    ]
    return push_index(pusher, name, entries), {"amd64": amd64, "arm64": arm64}


def push_foreign(pusher: Pusher, name: str) -> PushedImage:
    s390x, s390x_size = _arch_image(pusher, name, "s390x")
    ppc, ppc_size = _arch_image(pusher, name, "ppc64le")
    entries = [
        IndexEntry(s390x, s390x_size, {"architecture": "s390x", "os": "linux"}),
        IndexEntry(ppc, ppc_size, {"architecture": "ppc64le", "os": "linux"}),
    ]
    return push_index(pusher, name, entries)


def publish_test_images(pusher: Pusher, canary: Path) -> ImageSet:
    """Push the whole set; `canary` is a host directory that hostile layers aim at."""
    base = busybox_layer()
    middle = layer(layered_layers())
    layered = push_image(pusher, "test/layered", [base, middle, layer(layered_top())])
    sibling_top = layer([tb.file("sibling", "the sibling's own top layer\n")])
    sibling = push_image(pusher, "test/layered-sibling", [base, middle, sibling_top])
    zstd_top = layer([tb.directory("etc"), tb.file("etc/zstd-marker", "zstd\n")], tb.ZSTD)
    plain_top = layer([tb.directory("etc"), tb.file("etc/plain-marker", "plain\n")], tb.PLAIN)
    multiarch, per_arch = push_multiarch(pusher, "test/multiarch")
    hostile = {
        kind: push_image(pusher, f"test/hostile-{kind}", [layer(members)])
        for kind, members in hostile_members(canary).items()
    }
    return ImageSet(
        busybox=push_busybox(pusher, "busybox"),
        busybox_toplevel=push_image(
            pusher, "busybox", [base], docker_media_types=True, repository="busybox"
        ),
        layered=layered,
        layered_sibling=sibling,
        zstd=push_image(pusher, "test/zstd", [base, zstd_top]),
        plain=push_image(pusher, "test/plain", [base, plain_top]),
        multiarch=multiarch,
        multiarch_platforms=per_arch,
        foreign=push_foreign(pusher, "test/foreign"),
        hostile=hostile,
        canary=canary,
    )
