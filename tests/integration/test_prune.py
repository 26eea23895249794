"""`system df`, `system prune`, `image prune`, `container prune`, `volume prune`: what
Docker removes, the space they report, and a store that shrinks back to its empty size."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.assertions import image_rows
from tests.support.catalog import ImageSet
from tests.support.shocker import Result, Shocker

TOTAL = re.compile(r"^Total reclaimed space: \d+(\.\d+)?(B|kB|MB|GB)$")


@pytest.fixture
def removed_after(fresh_shocker: Shocker) -> Iterator[list[str]]:
    """Containers a test made in the fresh root: removed (rm -f) before the root goes."""
    made: list[str] = []
    yield made
    for container_id in made:
        fresh_shocker("rm", "-f", container_id)


def section(result: Result, title: str) -> list[str]:
    """The lines under `title:` up to the blank line (empty when the section is absent)."""
    lines = result.lines
    if f"{title}:" not in lines:
        return []
    start = lines.index(f"{title}:") + 1
    end = lines.index("", start)
    return lines[start:end]


def reclaimed_bytes(result: Result) -> float:
    last = result.lines[-1]
    assert TOTAL.match(last), str(result)
    number, unit = re.findall(r"([\d.]+)(B|kB|MB|GB)$", last)[0]
    return float(number) * {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}[unit]


def disk_usage(root: Path) -> int:
    """Bytes allocated under `root`, as du counts them."""
    out = subprocess.run(
        ["du", "-s", "--block-size=1", str(root)], capture_output=True, text=True, check=True
    ).stdout
    return int(out.split()[0])


def stopped_container(shocker: Shocker, made: list[str], *run_args: str) -> str:
    """`shocker run RUN_ARGS` (options, image, command) left stopped; its id."""
    shocker("run", *run_args).check()
    newest = shocker("ps", "-q").check().lines[0]
    made.append(newest)
    return newest


def test_removing_every_image_returns_the_store_to_its_empty_size(
    fresh_shocker: Shocker, images: ImageSet
) -> None:
    fresh_shocker("images").check()
    empty = disk_usage(fresh_shocker.root)
    for image in (images.layered, images.layered_sibling, images.zstd, images.plain):
        fresh_shocker("pull", image.ref).check()
    full = disk_usage(fresh_shocker.root)
    assert full > empty + 1_000_000

    result = fresh_shocker("system", "prune", "-a", "-f").check()

    assert len([line for line in section(result, "Deleted Images") if "deleted" in line]) == 4
    assert reclaimed_bytes(result) > 1_000_000
    assert image_rows(fresh_shocker("images").check()) == {}
    assert list((fresh_shocker.root / ".shocker/layers").iterdir()) == []
    assert list((fresh_shocker.root / ".shocker/blobs/sha256").iterdir()) == []
    assert disk_usage(fresh_shocker.root) < empty + 64 * 1024


def test_container_prune_removes_stopped_containers_only(
    fresh_shocker: Shocker, images: ImageSet, removed_after: list[str]
) -> None:
    image_id = fresh_shocker("pull", images.busybox.ref).check().created_id()
    stopped = stopped_container(
        fresh_shocker, removed_after, image_id, "sh", "-c", "head -c 300000 /dev/zero > /big"
    )
    running = fresh_shocker("run", "-d", image_id, "sleep", "60").check().lines[-1]
    removed_after.append(running)

    result = fresh_shocker("container", "prune", "-f").check()

    assert section(result, "Deleted Containers") == [stopped]
    assert 300_000 <= reclaimed_bytes(result) < 400_000
    assert not (fresh_shocker.root / stopped).exists()
    assert fresh_shocker("ps", "-q").check().lines == [running]


def test_image_prune_removes_dangling_images_and_with_all_every_unused_one(
    fresh_shocker: Shocker, tmp_path: Path, images: ImageSet, removed_after: list[str]
) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/version").write_text("1\n")
    old = fresh_shocker("init", str(tmp_path), "--name", "app:1").check().created_id()
    (tmp_path / "etc/version").write_text("2\n")
    new = fresh_shocker("init", str(tmp_path), "--name", "app:1").check().created_id()
    used = fresh_shocker("pull", images.busybox.ref).check().created_id()
    stopped_container(fresh_shocker, removed_after, used, "true")
    assert image_rows(fresh_shocker("images").check())[old][0] == "<none>"

    dangling = fresh_shocker("image", "prune", "-f").check()

    assert section(dangling, "Deleted Images") == [f"deleted: {old}"]
    assert set(image_rows(fresh_shocker("images").check())) == {new, used}

    every = fresh_shocker("image", "prune", "-a", "-f").check()

    assert section(every, "Deleted Images") == ["untagged: app:1", f"deleted: {new}"]
    assert set(image_rows(fresh_shocker("images").check())) == {used}
    assert fresh_shocker("image", "prune", "-a", "-f").check().lines == [
        "Total reclaimed space: 0B"
    ]


def test_volume_prune_keeps_named_volumes_unless_all_and_used_ones_always(
    fresh_shocker: Shocker, images: ImageSet, removed_after: list[str]
) -> None:
    image_id = fresh_shocker("pull", images.busybox.ref).check().created_id()
    fresh_shocker("volume", "create", "spare", "kept").check()
    (fresh_shocker.root / "volumes/spare/data").write_bytes(b"x" * 5000)
    stopped_container(fresh_shocker, removed_after, "-v", "kept:/kept", image_id, "true")

    assert fresh_shocker("volume", "prune", "-f").check().lines == ["Total reclaimed space: 0B"]
    result = fresh_shocker("volume", "prune", "-a", "-f").check()

    assert section(result, "Deleted Volumes") == ["spare"]
    assert reclaimed_bytes(result) == 5000
    assert [line.split()[0] for line in fresh_shocker("volume", "ls").check().lines[1:]] == ["kept"]


def test_system_prune_removes_stopped_containers_and_dangling_images_and_keeps_the_rest(
    fresh_shocker: Shocker, tmp_path: Path, images: ImageSet, removed_after: list[str]
) -> None:
    (tmp_path / "f").write_text("1\n")
    dangling = fresh_shocker("init", str(tmp_path), "--name", "app:1").check().created_id()
    tagged = fresh_shocker("init", str(tmp_path), "--name", "app:1").check().created_id()
    busybox = fresh_shocker("pull", images.busybox.ref).check().created_id()
    stopped = stopped_container(fresh_shocker, removed_after, "-v", "data:/data", busybox, "true")

    result = fresh_shocker("system", "prune", "-f").check()

    assert section(result, "Deleted Containers") == [stopped]
    assert section(result, "Deleted Images") == [f"deleted: {dangling}"]
    assert set(image_rows(fresh_shocker("images").check())) == {tagged, busybox}
    assert "data" in fresh_shocker("volume", "ls").check().out


def test_prune_without_force_asks_and_a_no_changes_nothing(
    fresh_shocker: Shocker, images: ImageSet, removed_after: list[str]
) -> None:
    image_id = fresh_shocker("pull", images.busybox.ref).check().created_id()
    stopped = stopped_container(fresh_shocker, removed_after, image_id, "true")

    declined = fresh_shocker("container", "prune", input="n\n")

    assert declined.rc != 0
    assert declined.out.startswith("WARNING! This will remove all stopped containers.")
    assert "Are you sure you want to continue? [y/N]" in declined.out
    assert fresh_shocker("ps", "-q").check().lines == [stopped]

    accepted = fresh_shocker("container", "prune", input="y\n").check()
    assert stopped in accepted.out
    assert fresh_shocker("ps", "-q").check().lines == []


def test_system_df_counts_what_is_there_and_what_a_prune_reclaims(
    fresh_shocker: Shocker, images: ImageSet, removed_after: list[str]
) -> None:
    used = fresh_shocker("pull", images.busybox.ref).check().created_id()
    fresh_shocker("pull", images.layered_sibling.ref).check()
    stopped_container(
        fresh_shocker, removed_after, used, "sh", "-c", "head -c 200000 /dev/zero > /big"
    )
    fresh_shocker("volume", "create", "spare").check()

    result = fresh_shocker("system", "df").check()

    header, *rows = result.lines
    assert header.split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    cells = {re.split(r"\s{2,}", row)[0]: re.split(r"\s{2,}", row)[1:] for row in rows}
    assert list(cells) == ["Images", "Containers", "Local Volumes", "Build Cache"]
    assert cells["Images"][:2] == ["2", "1"]
    assert cells["Containers"][:2] == ["1", "0"]
    assert cells["Containers"][2] == "200kB"
    assert cells["Containers"][3] == "200kB (100%)"
    assert cells["Local Volumes"][:3] == ["1", "0", "0B"]
    assert cells["Build Cache"] == ["0", "0", "0B", "0B"]
    images_size = re.match(r"([\d.]+)MB", cells["Images"][2])
    assert images_size is not None and float(images_size.group(1)) > 1
