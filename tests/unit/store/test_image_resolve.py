"""ImageStore.resolve/find_by_digest over records on disk (no btrfs needed to read them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shocker.errors import NotFound, UsageError
from shocker.record import asdict
from shocker.store.atomic import write_json_atomic
from shocker.store.images import ImageRecord, ImageStore
from shocker.store.layout import Layout
from shocker.store.names import normalize, without_registry_host
from shocker.store.tags import NameIndex

DIGEST = "sha256:" + "ab" * 32


def record(
    image_id: str,
    reference: str | None,
    created: str = "2024-01-01T00:00:00.000000Z",
    digest: str | None = None,
) -> ImageRecord:
    return ImageRecord(
        id=image_id,
        names=[reference] if reference else [],
        repository_digest=digest,
        config={},
        layers=[],
        created=created,
        source="pull",
    )


@pytest.fixture
def images(tmp_path: Path) -> ImageStore:
    layout = Layout(tmp_path)
    layout.images.mkdir(parents=True)
    store = ImageStore(layout)
    for image in [
        record("img-aa090", "busybox:latest", digest=DIGEST),
        record("img-aa123", "alpine:3.20"),
        record("img-b0000", "127.0.0.1:5000/team/app:1"),
        record("img-c1111", None),
        record("img-d2222", "myorg/tool:latest", created="2024-01-01T00:00:00.000000Z"),
        record("img-d3333", "myorg/tool:latest", created="2024-02-01T00:00:00.000000Z"),
    ]:
        data = asdict(image)
        names = data.pop("names")
        write_json_atomic(layout.image_record(image.id), data)
        for name in names:  # given in turn: the last one given holds it
            index = NameIndex.read(store.names_path) or NameIndex(store.names_path, {})
            index.assign(image.id, name)
            index.write()
    return store


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("img-aa090", "img-aa090"),
        ("busybox", "img-aa090"),
        ("busybox:latest", "img-aa090"),
        ("library/busybox", "img-aa090"),
        ("docker.io/library/busybox:latest", "img-aa090"),
        (f"busybox@{DIGEST}", "img-aa090"),
        ("alpine:3.20", "img-aa123"),
        ("127.0.0.1:5000/team/app:1", "img-b0000"),
        ("team/app:1", "img-b0000"),
        ("img-c", "img-c1111"),
        ("c11", "img-c1111"),
        ("b0", "img-b0000"),
        ("myorg/tool", "img-d3333"),
    ],
)
def test_images_resolve_by_id_name_or_prefix(images: ImageStore, text: str, expected: str) -> None:
    assert images.resolve(text).id == expected


@pytest.mark.parametrize(
    "text", ["alpine", "busybox:1.36", "nothing", "img-ffff", "other.io/busybox"]
)
def test_unknown_images_are_not_found_with_the_originals_message(
    images: ImageStore, text: str
) -> None:
    with pytest.raises(NotFound, match=f"^No image named '{text}' exists$"):
        images.resolve(text)


def test_an_ambiguous_id_prefix_is_an_error(images: ImageStore) -> None:
    with pytest.raises(UsageError, match="img-aa090, img-aa123"):
        images.resolve("aa")


def test_find_by_digest_needs_the_same_name(images: ImageStore) -> None:
    found = images.find_by_digest(DIGEST, "busybox:latest")
    assert found is not None and found.id == "img-aa090"
    assert images.find_by_digest(DIGEST, "other:latest") is None
    assert images.find_by_digest("sha256:" + "00" * 32, "busybox:latest") is None


def test_listing_skips_temporary_and_corrupt_files(images: ImageStore) -> None:
    (images.layout.images / ".img-x.json.123.tmp").write_text("{")
    (images.layout.images / "img-bad00.json").write_text("{")
    assert len(images.list()) == 6


def test_get_of_a_missing_image_is_not_found(images: ImageStore) -> None:
    with pytest.raises(NotFound, match="No image named 'img-00000' exists"):
        images.get("img-00000")


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("busybox", "busybox:latest"),
        ("docker.io/library/busybox:1.36", "busybox:1.36"),
        ("registry-1.docker.io/myorg/app", "myorg/app:latest"),
        ("localhost:5000/app", "localhost:5000/app:latest"),
        ("host:5000/a/b:tag", "host:5000/a/b:tag"),
    ],
)
def test_names_normalize_as_docker_familiar_names(text: str, normal: str) -> None:
    assert normalize(text) == normal


def test_registry_host_can_be_dropped_from_a_name() -> None:
    assert without_registry_host("127.0.0.1:5000/library/busybox:1") == "busybox:1"
    assert without_registry_host("myorg/app") == "myorg/app:latest"
