"""`shocker init DIR`: a directory becomes an image (docker import)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.assertions import assert_one_line_error, image_rows
from tests.support.shocker import Shocker


def _rootfs(directory: Path) -> Path:
    (directory / "bin").mkdir(parents=True)
    shutil.copy2("/bin/busybox", directory / "bin/busybox")
    (directory / "bin/sh").symlink_to("busybox")
    (directory / "etc").mkdir()
    (directory / "etc/issue").write_text("imported\n")
    (directory / "etc/secret").write_text("mode kept\n")
    (directory / "etc/secret").chmod(0o600)
    return directory


def test_init_imports_a_directory_as_a_new_image(fresh_shocker: Shocker, tmp_path: Path) -> None:
    source = _rootfs(tmp_path / "rootfs")

    result = fresh_shocker("init", str(source)).check()

    image_id = result.created_id()
    rootfs = fresh_shocker.root / image_id
    assert (rootfs / "etc/issue").read_text() == "imported\n"
    assert (rootfs / "etc/secret").stat().st_mode & 0o777 == 0o600
    assert (rootfs / "bin/sh").readlink() == Path("busybox")
    assert image_id in image_rows(fresh_shocker("images").check())


def test_init_leaves_the_source_directory_untouched(fresh_shocker: Shocker, tmp_path: Path) -> None:
    source = _rootfs(tmp_path / "rootfs")
    before = sorted(str(p.relative_to(source)) for p in source.rglob("*"))

    fresh_shocker("init", str(source)).check()

    assert sorted(str(p.relative_to(source)) for p in source.rglob("*")) == before


def test_init_twice_gives_two_distinct_images(fresh_shocker: Shocker, tmp_path: Path) -> None:
    source = _rootfs(tmp_path / "rootfs")

    first = fresh_shocker("init", str(source)).check().created_id()
    second = fresh_shocker("init", str(source)).check().created_id()

    assert first != second


def test_init_of_a_missing_directory_says_so(fresh_shocker: Shocker, tmp_path: Path) -> None:
    missing = tmp_path / "x"

    result = fresh_shocker("init", str(missing))

    assert_one_line_error(result, f"No directory named '{missing}' exists")
    assert fresh_shocker("images", "-q").check().out == ""
