"""Archives that must be refused, and outputs that must not be left half-written: a corrupt,
truncated or hostile archive, a layer that does not match its digest; a save or an export that
fails part way. Each is one line on stderr, a non-zero exit, and nothing listed or left."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import tarbuild as tb
from tests.support.assertions import assert_one_line_error
from tests.support.catalog import VICTIM, VICTIM_CONTENT, ImageSet, hostile_members
from tests.support.images import ISSUE, busybox_members, image_config, layer
from tests.support.shocker import Shocker


def _tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w") as archive:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                archive.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                archive.addfile(info, io.BytesIO(member[1]))
    return path


def _symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


def _docker_archive(
    path: Path,
    layer_members: list[tb.Member] | None = None,
    *,
    diff_id: str | None = None,
    layer_name: str = "layer.tar",
    extra: list[tarfile.TarInfo | tuple[str, bytes]] | None = None,
    compression: str = tb.PLAIN,
) -> Path:
    built = layer(layer_members or list(busybox_members()), compression)
    config = image_config([built])
    if diff_id is not None:
        config["rootfs"]["diff_ids"] = [diff_id]
    manifest = [{"Config": "config.json", "RepoTags": ["bad/input:1"], "Layers": [layer_name]}]
    members: list[tarfile.TarInfo | tuple[str, bytes]] = [
        ("layer.tar", built.blob),
        ("config.json", json.dumps(config).encode()),
        *(extra or []),
        ("manifest.json", json.dumps(manifest).encode()),
    ]
    return _tar(path, members)


def _oci_archive(path: Path, tamper: bool) -> Path:
    built = layer(list(busybox_members()), tb.GZIP)
    config = json.dumps(image_config([built])).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": tb.sha256_digest(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": built.digest,
                    "size": len(built.blob),
                }
            ],
        }
    ).encode()
    blob = bytearray(built.blob)
    if tamper:
        blob[len(blob) // 2] ^= 0xFF
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": tb.sha256_digest(manifest),
                "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": "bad/oci:1"},
            }
        ],
    }

    def blob_name(data: bytes) -> str:
        return "blobs/sha256/" + tb.sha256_digest(data).partition(":")[2]

    return _tar(
        path,
        [
            ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
            (blob_name(built.blob), bytes(blob)),
            (blob_name(config), config),
            (blob_name(manifest), manifest),
            ("index.json", json.dumps(index).encode()),
        ],
    )


def _assert_refused(shocker: Shocker, archive: Path, *fragments: str) -> None:
    result = shocker("load", "-i", str(archive))
    assert_one_line_error(result, *fragments)
    assert shocker("images", "-q").check().out == ""
    assert list((shocker.root / ".shocker" / "tmp").iterdir()) == []


def test_a_valid_built_archive_loads(fresh_shocker: Shocker, tmp_path: Path) -> None:
    # The builders below make good archives unless told otherwise: the refusals are real.
    for archive in (_docker_archive(tmp_path / "d.tar"), _oci_archive(tmp_path / "o.tar", False)):
        fresh_shocker("load", "-i", str(archive)).check()
    names = fresh_shocker("images").check().out
    assert "bad/input:1" in names and "bad/oci:1" in names


def test_a_docker_archive_with_gzip_layers_in_an_oci_layout_loads(
    fresh_shocker: Shocker, tmp_path: Path
) -> None:
    # Docker 25 and later: manifest.json beside index.json, layers under blobs/sha256/.
    built = layer(list(busybox_members()), tb.GZIP)
    blob = "blobs/sha256/" + built.digest.partition(":")[2]
    archive = _docker_archive(
        tmp_path / "docker25.tar",
        layer_name=blob,
        extra=[(blob, built.blob), ("index.json", b'{"schemaVersion":2,"manifests":[]}')],
        compression=tb.GZIP,
    )

    image_id = fresh_shocker("load", "-i", str(archive)).check().created_id()

    ran = fresh_shocker("run", "--rm", "--network", "none", "bad/input:1", "cat", "/etc/issue")
    assert ran.check().out == ISSUE
    assert image_id in fresh_shocker("images", "-q").check().out


def test_random_bytes_are_refused(fresh_shocker: Shocker, tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(os.urandom(64 << 10))

    _assert_refused(fresh_shocker, junk, "archive")


def test_an_empty_input_is_refused(fresh_shocker: Shocker, tmp_path: Path) -> None:
    empty = tmp_path / "empty.tar"
    empty.write_bytes(b"")

    _assert_refused(fresh_shocker, empty, "archive is empty")


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.97])
def test_a_truncated_archive_is_refused(
    fresh_shocker: Shocker, tmp_path: Path, keep: float
) -> None:
    whole = _docker_archive(tmp_path / "whole.tar").read_bytes()
    cut = tmp_path / "cut.tar"
    cut.write_bytes(whole[: int(len(whole) * keep)])

    _assert_refused(fresh_shocker, cut, "archive")


def test_a_truncated_gzip_archive_is_refused(fresh_shocker: Shocker, tmp_path: Path) -> None:
    whole = _docker_archive(tmp_path / "whole.tar").read_bytes()
    packed = subprocess.run(["gzip", "-1"], input=whole, capture_output=True, check=True).stdout
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(packed[: len(packed) // 2])

    _assert_refused(fresh_shocker, cut, "archive")


def test_a_layer_that_does_not_match_its_diff_id_is_refused(
    fresh_shocker: Shocker, tmp_path: Path
) -> None:
    archive = _docker_archive(tmp_path / "wrong.tar", diff_id="sha256:" + "0" * 64)

    _assert_refused(fresh_shocker, archive, "layer.tar", "diff_id")
    assert list((fresh_shocker.root / ".shocker" / "layers").iterdir()) == []


def test_an_oci_layer_that_does_not_match_its_digest_is_refused(
    fresh_shocker: Shocker, tmp_path: Path
) -> None:
    _assert_refused(fresh_shocker, _oci_archive(tmp_path / "tampered.tar", True), "layer")


@pytest.mark.parametrize(
    ("layer_name", "extra", "fragment"),
    [
        ("../../../etc/passwd", [], "outside the archive"),
        ("/etc/passwd", [], "absolute"),
        ("evil/layer.tar", [_symlink("evil/layer.tar", "/etc/passwd")], "outside the archive"),
        ("evil/layer.tar", [_symlink("evil/layer.tar", "../../etc/passwd")], "outside"),
        ("layer.tar", [("../escape", b"x")], "outside the archive"),
        ("loop/layer.tar", [_symlink("loop/layer.tar", "layer.tar")], "links"),
    ],
)
def test_an_archive_with_hostile_paths_is_refused(
    fresh_shocker: Shocker,
    tmp_path: Path,
    layer_name: str,
    extra: list[tarfile.TarInfo | tuple[str, bytes]],
    fragment: str,
) -> None:
    archive = _docker_archive(tmp_path / "hostile.tar", layer_name=layer_name, extra=extra)

    _assert_refused(fresh_shocker, archive, fragment)
    assert not (tmp_path.parent / "escape").exists()


@pytest.mark.parametrize("kind", ["traversal", "absolute", "symlink-dir", "hardlink-absolute"])
def test_a_hostile_layer_in_an_archive_writes_nothing_outside_the_image(
    fresh_shocker: Shocker, images: ImageSet, tmp_path: Path, kind: str
) -> None:
    members = hostile_members(images.canary)[kind]
    archive = _docker_archive(tmp_path / "hostile.tar", members)

    result = fresh_shocker("load", "-i", str(archive))

    assert "Traceback" not in result.err, str(result)
    assert {p.name: p.read_text() for p in images.canary.iterdir()} == {VICTIM: VICTIM_CONTENT}
    listed = fresh_shocker("images", "-q").check().out.split()
    assert listed == ([result.created_id()] if result.rc == 0 else [])


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs: a save or export into it runs out of space part way."""
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_save_that_fails_part_way_leaves_no_file(
    fresh_shocker: Shocker, images: ImageSet, small_filesystem: Path
) -> None:
    fresh_shocker("pull", images.busybox.ref).check()

    result = fresh_shocker("save", "-o", str(small_filesystem / "out.tar"), images.busybox.ref)

    assert_one_line_error(result, "out.tar")
    assert list(small_filesystem.iterdir()) == []


def test_an_export_that_fails_part_way_leaves_no_file(
    fresh_shocker: Shocker, images: ImageSet, small_filesystem: Path
) -> None:
    fresh_shocker("run", "--name", "big", "--network", "none", images.busybox.ref, "true").check()

    result = fresh_shocker("export", "-o", str(small_filesystem / "out.tar"), "big")

    assert_one_line_error(result)
    assert list(small_filesystem.iterdir()) == []


def test_save_of_a_missing_image_names_it_and_writes_no_file(
    fresh_shocker: Shocker, images: ImageSet, tmp_path: Path
) -> None:
    fresh_shocker("pull", images.busybox.ref).check()
    target = tmp_path / "out.tar"

    result = fresh_shocker("save", "-o", str(target), images.busybox.ref, "no/such:image")

    assert_one_line_error(result, "No image named 'no/such:image' exists")
    assert not target.exists()


def test_load_of_a_missing_file_names_it(fresh_shocker: Shocker, tmp_path: Path) -> None:
    result = fresh_shocker("load", "-i", str(tmp_path / "absent.tar"))

    assert_one_line_error(result, f"No file named '{tmp_path / 'absent.tar'}' exists")
