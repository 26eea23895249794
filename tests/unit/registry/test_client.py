from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from shocker.errors import DigestMismatch, NotFound, RegistryError
from shocker.oci import mediatypes as mt
from shocker.oci.manifest import Descriptor
from shocker.oci.platform import Platform, host_platform
from shocker.oci.reference import parse_reference
from shocker.registry.client import RegistryClient
from shocker.settings import Settings
from tests.unit.registry.fakeserver import (
    FakeServer,
    Reply,
    blob_handler,
    make_image,
    publish,
    publish_index,
    registry_error,
    sha,
)


def test_a_docker_v2_image_resolves_with_its_config(
    client: RegistryClient, registry: FakeServer
) -> None:
    image = make_image([b"a", b"b"], media=mt.DOCKER_MANIFEST)
    publish(registry, "team/app", "1.0", image)
    resolved = client.resolve(parse_reference(f"{registry.host}/team/app:1.0"))
    assert resolved.manifest_digest == image.digest
    assert resolved.manifest_bytes == image.manifest
    assert resolved.config_bytes == image.config
    assert resolved.config.diff_ids == (sha(b"a"), sha(b"b"))
    assert [layer.digest for layer in resolved.manifest.layers] == [sha(b"a"), sha(b"b")]
    first = registry.requests("/v2/team/app/manifests/1.0")[0]
    assert first.headers["user-agent"].startswith("shocker/")
    accept = first.headers["accept"]
    for media_type in (mt.OCI_INDEX, mt.OCI_MANIFEST, mt.DOCKER_MANIFEST_LIST, mt.DOCKER_MANIFEST):
        assert media_type in accept


def test_a_missing_image_is_not_found_by_its_familiar_name(
    client: RegistryClient, registry: FakeServer
) -> None:
    registry.route(
        "/v2/library/nope/manifests/1",
        registry_error(404, "MANIFEST_UNKNOWN", "manifest unknown"),
    )
    with pytest.raises(NotFound) as caught:
        client.resolve(parse_reference("nope:1", registry.host))
    assert caught.value.message == "No image named 'nope:1' exists"


def test_a_mirror_is_asked_for_library_first(client: RegistryClient, registry: FakeServer) -> None:
    publish(registry, "library/busybox", "latest", make_image([b"mirror"]))
    publish(registry, "busybox", "latest", make_image([b"top-level"]))
    resolved = client.resolve(parse_reference("busybox", registry.host))
    assert resolved.reference.repository == "library/busybox"
    assert resolved.config.diff_ids == (sha(b"mirror"),)


def test_a_private_registry_holding_the_bare_name_is_the_fallback(
    client: RegistryClient, registry: FakeServer
) -> None:
    image = make_image([b"top-level"])
    publish(registry, "busybox", "latest", image)
    resolved = client.resolve(parse_reference("busybox", registry.host))
    assert resolved.reference.repository == "busybox"
    assert resolved.reference.familiar() == "busybox:latest"
    assert resolved.manifest_digest == image.digest
    assert len(registry.requests("/v2/library/busybox/manifests/latest")) == 1


def test_missing_in_both_places_is_not_found_once(
    client: RegistryClient, registry: FakeServer
) -> None:
    with pytest.raises(NotFound, match="No image named 'ghost:latest' exists"):
        client.resolve(parse_reference("ghost", registry.host))


def test_an_explicit_registry_gets_no_fallback(
    client: RegistryClient, registry: FakeServer
) -> None:
    publish(registry, "busybox", "latest", make_image([b"x"]))
    with pytest.raises(NotFound):
        client.resolve(parse_reference(f"{registry.host}/library/busybox"))


def test_an_index_resolves_to_the_wanted_platform_skipping_attestations(
    client: RegistryClient, registry: FakeServer
) -> None:
    host = host_platform()
    native = make_image([b"native"], arch=host.architecture)
    other = make_image([b"other"], arch="s390x")
    attestation = make_image([b"in-toto"], arch="unknown")
    unknown = {"os": "unknown", "architecture": "unknown"}
    wanted = {"os": "linux", "architecture": host.architecture}
    if host.variant:
        wanted["variant"] = host.variant
    publish_index(
        registry,
        "multi",
        "latest",
        [
            (unknown, attestation),
            ({"os": "linux", "architecture": "s390x"}, other),
            (wanted, native),
        ],
    )
    ref = parse_reference(f"{registry.host}/multi")
    assert client.resolve(ref).manifest_digest == native.digest
    assert client.resolve(ref, Platform("linux", "s390x")).manifest_digest == other.digest
    with pytest.raises(RegistryError) as caught:
        client.resolve(ref, Platform("linux", "riscv64"))
    assert caught.value.message.startswith(f"{registry.host}/multi:latest: no image for platform")
    assert "linux/s390x" in caught.value.message and "unknown" not in caught.value.message


def test_a_platform_manifest_that_does_not_match_its_digest_is_refused(
    client: RegistryClient, registry: FakeServer
) -> None:
    image = make_image([b"x"], arch="s390x")
    publish_index(registry, "multi", "1", [({"os": "linux", "architecture": "s390x"}, image)])
    tampered = image.manifest.replace(b'"schemaVersion": 2', b'"schemaVersion":  2')
    registry.route(f"/v2/multi/manifests/{image.digest}", Reply(200, tampered))
    with pytest.raises(DigestMismatch):
        client.resolve(parse_reference(f"{registry.host}/multi:1"), Platform("linux", "s390x"))


def test_pulling_by_digest_verifies_the_manifest(
    client: RegistryClient, registry: FakeServer
) -> None:
    image = make_image([b"x"])
    publish(registry, "app", "latest", image)
    ref = parse_reference(f"{registry.host}/app@{image.digest}")
    assert client.resolve(ref).manifest_digest == image.digest
    registry.route(f"/v2/app/manifests/{image.digest}", Reply(200, image.manifest + b" "))
    with pytest.raises(DigestMismatch, match="manifest of"):
        client.resolve(ref)


def test_a_wrong_docker_content_digest_header_is_refused(
    client: RegistryClient, registry: FakeServer
) -> None:
    image = make_image([b"x"])
    publish(registry, "app", "latest", image)
    registry.route(
        "/v2/app/manifests/latest",
        Reply(200, image.manifest, {"Docker-Content-Digest": sha(b"something else")}),
    )
    with pytest.raises(DigestMismatch, match="announced"):
        client.resolve(parse_reference(f"{registry.host}/app"))


def test_a_config_that_does_not_match_its_digest_is_refused(
    client: RegistryClient, registry: FakeServer
) -> None:
    image = make_image([b"x"])
    publish(registry, "app", "latest", image)
    evil = image.config.replace(b'"sh"', b'"rm"')
    registry.route(f"/v2/app/blobs/{sha(image.config)}", Reply(200, evil))
    with pytest.raises(DigestMismatch):
        client.resolve(parse_reference(f"{registry.host}/app"))


def test_schema1_images_are_refused_clearly(client: RegistryClient, registry: FakeServer) -> None:
    body = json.dumps({"schemaVersion": 1, "name": "old", "fsLayers": []}).encode()
    registry.route(
        "/v2/old/manifests/latest", Reply(200, body, {"Content-Type": mt.DOCKER_SCHEMA1_SIGNED})
    )
    with pytest.raises(RegistryError, match="schema 1"):
        client.resolve(parse_reference(f"{registry.host}/old"))


def test_a_helm_chart_is_not_an_image(client: RegistryClient, registry: FakeServer) -> None:
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.cncf.helm.config.v1+json",
                "digest": sha(b"{}"),
                "size": 2,
            },
            "layers": [],
        }
    ).encode()
    registry.route("/v2/chart/manifests/latest", Reply(200, manifest))
    with pytest.raises(RegistryError, match="chart:latest: not a container image"):
        client.resolve(parse_reference(f"{registry.host}/chart"))


def _descriptor(data: bytes) -> Descriptor:
    return Descriptor(mt.OCI_LAYER_GZIP, sha(data), len(data))


def test_a_blob_streams_to_disk_and_reports_progress(
    client: RegistryClient, registry: FakeServer, tmp_path: Path
) -> None:
    data = bytes(range(256)) * 4096
    registry.route(f"/v2/app/blobs/{sha(data)}", blob_handler(data))
    seen: list[int] = []
    dest = tmp_path / "partial"
    client.fetch_blob(parse_reference(f"{registry.host}/app"), _descriptor(data), dest, seen.append)
    assert dest.read_bytes() == data
    assert sum(seen) == len(data)


def test_a_blob_whose_digest_does_not_match_leaves_no_file(
    client: RegistryClient, registry: FakeServer, tmp_path: Path
) -> None:
    data = b"the real layer"
    registry.route(f"/v2/app/blobs/{sha(data)}", blob_handler(b"an evil layer!"))
    dest = tmp_path / "partial"
    with pytest.raises(DigestMismatch):
        client.fetch_blob(parse_reference(f"{registry.host}/app"), _descriptor(data), dest)
    assert not dest.exists()


def test_a_blob_longer_than_announced_leaves_no_file(
    client: RegistryClient, registry: FakeServer, tmp_path: Path
) -> None:
    data = b"short"
    registry.route(f"/v2/app/blobs/{sha(data)}", blob_handler(data + b" and much more"))
    dest = tmp_path / "partial"
    with pytest.raises(DigestMismatch, match="more than the 5 bytes"):
        client.fetch_blob(parse_reference(f"{registry.host}/app"), _descriptor(data), dest)
    assert not dest.exists()


def test_a_cut_transfer_resumes_with_a_range_request(
    client: RegistryClient, registry: FakeServer, tmp_path: Path
) -> None:
    data = b"0123456789" * 50_000
    path = f"/v2/app/blobs/{sha(data)}"
    registry.route(path, blob_handler(data, cut_after=123_456))
    dest = tmp_path / "partial"
    client.fetch_blob(parse_reference(f"{registry.host}/app"), _descriptor(data), dest)
    assert dest.read_bytes() == data
    first, second = registry.requests(path)
    assert "range" not in first.headers
    assert second.headers["range"] == "bytes=123456-"


def test_a_partial_file_left_by_an_earlier_attempt_is_resumed(
    client: RegistryClient, registry: FakeServer, tmp_path: Path
) -> None:
    data = b"abcdefghij" * 1000
    path = f"/v2/app/blobs/{sha(data)}"
    registry.route(path, blob_handler(data))
    dest = tmp_path / "partial"
    dest.write_bytes(data[:4000])
    seen: list[int] = []
    client.fetch_blob(parse_reference(f"{registry.host}/app"), _descriptor(data), dest, seen.append)
    assert dest.read_bytes() == data
    assert registry.requests(path)[0].headers["range"] == "bytes=4000-"
    assert sum(seen) == len(data)


def test_a_server_without_ranges_sends_the_whole_blob_again(
    client: RegistryClient, registry: FakeServer, tmp_path: Path
) -> None:
    data = b"xyz" * 5000
    registry.route(f"/v2/app/blobs/{sha(data)}", blob_handler(data, ranges=False))
    dest = tmp_path / "partial"
    dest.write_bytes(b"garbage that is not a prefix")
    client.fetch_blob(parse_reference(f"{registry.host}/app"), _descriptor(data), dest)
    assert dest.read_bytes() == data


def test_a_corrupt_partial_file_is_replaced_by_a_fresh_download(
    client: RegistryClient, registry: FakeServer, tmp_path: Path
) -> None:
    data = b"abcdefghij" * 1000
    path = f"/v2/app/blobs/{sha(data)}"
    registry.route(path, blob_handler(data))
    dest = tmp_path / "partial"
    dest.write_bytes(b"X" * 4000)
    client.fetch_blob(parse_reference(f"{registry.host}/app"), _descriptor(data), dest)
    assert dest.read_bytes() == data
    resumed, fresh = registry.requests(path)
    assert resumed.headers["range"] == "bytes=4000-"
    assert "range" not in fresh.headers


def test_a_blob_that_stays_wrong_after_a_fresh_download_leaves_no_file(
    client: RegistryClient, registry: FakeServer, tmp_path: Path
) -> None:
    data = b"abcdefghij" * 1000
    registry.route(f"/v2/app/blobs/{sha(data)}", blob_handler(b"Y" * len(data)))
    dest = tmp_path / "partial"
    dest.write_bytes(b"Y" * 4000)
    with pytest.raises(DigestMismatch):
        client.fetch_blob(parse_reference(f"{registry.host}/app"), _descriptor(data), dest)
    assert not dest.exists()


def test_a_range_answer_for_the_wrong_offset_is_not_appended(
    client: RegistryClient, registry: FakeServer, tmp_path: Path
) -> None:
    data = b"0123456789" * 100
    path = f"/v2/app/blobs/{sha(data)}"
    wrong = Reply(206, data[10:], {"Content-Range": f"bytes 10-999/{len(data)}"})
    registry.route(path, [wrong, Reply(200, data)])
    dest = tmp_path / "partial"
    dest.write_bytes(data[:500])
    client.fetch_blob(parse_reference(f"{registry.host}/app"), _descriptor(data), dest)
    assert dest.read_bytes() == data


def test_an_empty_blob_still_leaves_a_file(
    client: RegistryClient, registry: FakeServer, tmp_path: Path
) -> None:
    dest = tmp_path / "partial"
    client.fetch_blob(parse_reference(f"{registry.host}/app"), _descriptor(b""), dest)
    assert dest.read_bytes() == b""


def test_a_complete_file_is_verified_without_downloading(
    client: RegistryClient, registry: FakeServer, tmp_path: Path
) -> None:
    data = b"already here"
    dest = tmp_path / "partial"
    dest.write_bytes(data)
    client.fetch_blob(parse_reference(f"{registry.host}/app"), _descriptor(data), dest)
    assert registry.seen == []


def test_a_missing_blob_is_an_error_naming_the_registry(
    client: RegistryClient, registry: FakeServer, tmp_path: Path
) -> None:
    with pytest.raises(RegistryError, match=registry.host):
        client.fetch_blob(
            parse_reference(f"{registry.host}/app"), _descriptor(b"gone"), tmp_path / "p"
        )


def test_blobs_download_in_parallel_threads_sharing_one_token(
    tmp_path: Path, registry: FakeServer
) -> None:
    blobs = [bytes([i]) * 200_000 for i in range(6)]
    issued: list[int] = []
    lock = threading.Lock()

    def token(_: object) -> Reply:
        with lock:
            issued.append(1)
        return Reply(200, json.dumps({"token": "t", "expires_in": 600}).encode())

    registry.route("/token", token)
    challenge = f'Bearer realm="{registry.url}/token",service="s"'
    for data in blobs:
        inner = blob_handler(data)

        def guarded(seen: object, inner: object = inner) -> Reply:
            headers = seen.headers  # type: ignore[attr-defined]
            if headers.get("authorization") == "Bearer t":
                return inner(seen)  # type: ignore[operator, no-any-return]
            return registry_error(401, "UNAUTHORIZED", "auth", **{"WWW-Authenticate": challenge})

        registry.route(f"/v2/app/blobs/{sha(data)}", guarded)
    ref = parse_reference(f"{registry.host}/app")
    settings = Settings(registry=registry.host, docker_config=tmp_path / "none.json")
    with RegistryClient(settings, backoff=0.01) as client:
        # Warm the token once, as resolve() does before any layer download.
        client.fetch_blob(ref, _descriptor(blobs[0]), tmp_path / "b0")
        threads = [
            threading.Thread(
                target=client.fetch_blob, args=(ref, _descriptor(d), tmp_path / f"b{i}")
            )
            for i, d in enumerate(blobs)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for i, data in enumerate(blobs):
        assert (tmp_path / f"b{i}").read_bytes() == data
    assert len(issued) == 1


def test_bytes_reported_as_progress_are_already_in_the_file(
    client: RegistryClient, registry: FakeServer, tmp_path: Path
) -> None:
    data = bytes(range(256)) * 8192
    registry.route(f"/v2/app/blobs/{sha(data)}", blob_handler(data))
    dest = tmp_path / "partial"
    reported = 0

    def progress(nbytes: int) -> None:
        nonlocal reported
        reported += nbytes
        assert dest.read_bytes()[:reported] == data[:reported]

    client.fetch_blob(parse_reference(f"{registry.host}/app"), _descriptor(data), dest, progress)
    assert reported == len(data)


def test_a_server_ignoring_the_range_makes_the_download_report_a_rewind(
    client: RegistryClient, registry: FakeServer, tmp_path: Path
) -> None:
    data = b"xyz" * 5000
    registry.route(f"/v2/app/blobs/{sha(data)}", blob_handler(data, ranges=False))
    dest = tmp_path / "partial"
    dest.write_bytes(data[:3000])
    events: list[str] = []
    client.fetch_blob(
        parse_reference(f"{registry.host}/app"),
        _descriptor(data),
        dest,
        lambda n: events.append("data"),
        lambda: events.append("rewound"),
    )
    assert events[0] == "data" and "rewound" in events[1:]
    assert dest.read_bytes() == data


def test_a_straight_download_reports_no_rewind(
    client: RegistryClient, registry: FakeServer, tmp_path: Path
) -> None:
    data = b"abc" * 5000
    registry.route(f"/v2/app/blobs/{sha(data)}", blob_handler(data))
    rewinds: list[None] = []
    client.fetch_blob(
        parse_reference(f"{registry.host}/app"),
        _descriptor(data),
        tmp_path / "partial",
        rewound=lambda: rewinds.append(None),
    )
    assert rewinds == []
