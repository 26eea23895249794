"""`shocker pull` against a real docker-registry: output, layers, names, formats, platforms."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.support import tarbuild as tb
from tests.support.assertions import (
    assert_one_line_error,
    image_rows,
    pulled_layers,
    up_to_date_id,
)
from tests.support.catalog import LAYERED_ABSENT, LAYERED_PRESENT, ImageSet
from tests.support.images import ISSUE, busybox_layer, host_arch, layer, other_arch, push_image
from tests.support.push import Pusher
from tests.support.registry import free_port
from tests.support.shocker import Shocker


def test_pull_prints_one_line_per_layer_then_the_created_id(
    fresh_shocker: Shocker, images: ImageSet
) -> None:
    result = fresh_shocker("pull", images.layered.ref).check()

    assert pulled_layers(result) == list(images.layered.short_layer_ids)
    image_id = result.created_id()
    assert image_rows(fresh_shocker("images").check())[image_id][0] == images.layered.ref


def test_pulled_image_root_filesystem_is_a_directory_named_by_its_id(
    fresh_shocker: Shocker, images: ImageSet
) -> None:
    image_id = fresh_shocker("pull", images.busybox.ref).check().created_id()

    rootfs = fresh_shocker.root / image_id
    assert (rootfs / "etc/issue").read_text() == ISSUE
    assert (rootfs / "bin/busybox").stat().st_mode & 0o111
    assert (rootfs / "bin/sh").is_symlink()


def test_pulling_the_same_reference_again_reuses_the_image(
    fresh_shocker: Shocker, images: ImageSet
) -> None:
    image_id = fresh_shocker("pull", images.busybox.ref).check().created_id()

    again = fresh_shocker("pull", images.busybox.ref).check()

    assert up_to_date_id(again) == image_id
    assert pulled_layers(again) == []
    assert list(image_rows(fresh_shocker("images").check())) == [image_id]


def test_a_new_digest_takes_the_name_and_the_old_image_stays_listed_by_id(
    fresh_shocker: Shocker, pusher: Pusher
) -> None:
    name = f"test/moving-{secrets.token_hex(3)}"
    push_image(pusher, name, [busybox_layer()])
    old_id = fresh_shocker("pull", name).check().created_id()
    top = layer([tb.file("version", "2\n")])
    push_image(pusher, name, [busybox_layer(), top])

    result = fresh_shocker("pull", name).check()

    new_id = result.created_id()
    assert new_id != old_id
    assert pulled_layers(result) == [top.digest.partition(":")[2][:12]]
    rows = image_rows(fresh_shocker("images").check())
    assert rows[new_id][0] == f"{name}:latest"
    assert old_id in rows
    assert rows[old_id][0] != f"{name}:latest"


def test_an_image_sharing_all_but_its_top_layer_downloads_only_that_layer(
    fresh_shocker: Shocker, images: ImageSet
) -> None:
    fresh_shocker("pull", images.layered.ref).check()

    result = fresh_shocker("pull", images.layered_sibling.ref).check()

    assert pulled_layers(result) == [images.layered_sibling.short_layer_ids[-1]]
    rootfs = fresh_shocker.root / result.created_id()
    assert (rootfs / "sibling").read_text() == "the sibling's own top layer\n"
    assert (rootfs / "data/gone").exists()


def test_whiteouts_and_opaque_directories_hide_lower_layer_files(
    fresh_shocker: Shocker, images: ImageSet
) -> None:
    rootfs = fresh_shocker.root / fresh_shocker("pull", images.layered.ref).check().created_id()

    for path in LAYERED_PRESENT:
        assert (rootfs / path).exists(), path
    for path in LAYERED_ABSENT:
        assert not (rootfs / path).exists(), path
    assert list(rootfs.rglob(".wh.*")) == []


def test_a_zstd_layer_is_applied(shocker: Shocker, images: ImageSet) -> None:
    result = shocker("pull", images.zstd.ref).check()
    image_id = result.created_id() if "Created:" in result.out else up_to_date_id(result)

    assert (shocker.root / image_id / "etc/zstd-marker").read_text() == "zstd\n"


def test_an_uncompressed_layer_is_applied(shocker: Shocker, images: ImageSet) -> None:
    result = shocker("pull", images.plain.ref).check()
    image_id = result.created_id() if "Created:" in result.out else up_to_date_id(result)

    assert (shocker.root / image_id / "etc/plain-marker").read_text() == "plain\n"


def test_pull_by_digest(fresh_shocker: Shocker, images: ImageSet) -> None:
    result = fresh_shocker("pull", images.layered.by_digest).check()

    assert (fresh_shocker.root / result.created_id() / "data/keep").exists()


def test_a_multi_platform_index_resolves_to_this_machine(
    fresh_shocker: Shocker, images: ImageSet
) -> None:
    result = fresh_shocker("pull", images.multiarch.ref).check()

    arch = (fresh_shocker.root / result.created_id() / "etc/arch").read_text().strip()
    assert arch == host_arch()


def test_the_platform_flag_picks_another_architecture(
    fresh_shocker: Shocker, images: ImageSet
) -> None:
    other = other_arch()

    result = fresh_shocker("pull", "--platform", f"linux/{other}", images.multiarch.ref).check()

    assert pulled_layers(result) == list(images.multiarch_platforms[other].short_layer_ids)
    arch = (fresh_shocker.root / result.created_id() / "etc/arch").read_text().strip()
    assert arch == other


def test_an_absent_platform_is_an_error_naming_the_available_ones(
    fresh_shocker: Shocker, images: ImageSet
) -> None:
    result = fresh_shocker("pull", images.foreign.ref)

    assert_one_line_error(result, "linux/s390x", "linux/ppc64le")
    assert image_rows(fresh_shocker("images").check()) == {}


def test_a_missing_image_says_no_image_named(fresh_shocker: Shocker, images: ImageSet) -> None:
    result = fresh_shocker("pull", "test/nothing-here:v1")

    assert_one_line_error(result, "No image named 'test/nothing-here:v1' exists")


def test_a_missing_tag_says_no_image_named(fresh_shocker: Shocker, images: ImageSet) -> None:
    result = fresh_shocker("pull", f"{images.layered.name}:no-such-tag")

    assert_one_line_error(result, f"No image named '{images.layered.name}:no-such-tag' exists")


def test_an_unreachable_registry_is_one_line_naming_it(fresh_shocker: Shocker) -> None:
    host = f"127.0.0.1:{free_port()}"

    result = fresh_shocker.with_env(SHOCKER_REGISTRY=host)("pull", "busybox", timeout_s=120)

    assert_one_line_error(result, host)


@pytest.mark.parametrize("name", ["busybox", "library/busybox", "busybox:latest"])
def test_official_image_names_are_looked_up_under_library(
    fresh_shocker: Shocker, images: ImageSet, name: str
) -> None:
    result = fresh_shocker("pull", name).check()

    assert pulled_layers(result) == list(images.busybox.short_layer_ids)
    assert image_rows(fresh_shocker("images").check())[result.created_id()][0] == "busybox:latest"


def test_pull_from_a_loopback_registry_imports_no_process_or_codec_machinery(
    fresh_shocker: Shocker, images: ImageSet, tmp_path: Path
) -> None:
    log = tmp_path / "imports"
    fresh_shocker.with_env(SHOCKER_IMPORT_LOG=str(log))("pull", images.busybox.ref).check()
    (line,) = log.read_text().splitlines()
    name, *modules = line.split()
    assert name == "pull" and "shocker.cli.main" in modules
    # Plain HTTP, no credential helper: neither subprocess nor the idna codec is needed.
    assert not {"subprocess", "encodings.idna", "ssl", "http.client", "email"} & set(modules)
