"""Volumes as Docker has them: a new empty volume is filled from the image's directory
(contents, owner, mode, xattrs) unless nocopy; an image's VOLUME gives an anonymous volume
that `volume ls` lists and `rm -v` / `--rm` / `volume prune` remove."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import tarbuild as tb
from tests.support.images import PATH_ENV, PushedImage, busybox_layer, layer, push_image
from tests.support.push import Pusher
from tests.support.shocker import Shocker

DATA = "/var/lib/keeper"
UID = 999
ANONYMOUS = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture(scope="module")
def keeper_image(pusher: Pusher) -> PushedImage:
    """An image in the manner of redis: USER keeper (999) owns its data directory, VOLUME."""
    data = layer(
        [
            tb.directory("etc"),
            tb.file(
                "etc/passwd",
                "root:x:0:0:root:/root:/bin/sh\nkeeper:x:999:999:keeper:/var/lib/keeper:/bin/sh\n",
            ),
            tb.file("etc/group", "root:x:0:\nkeeper:x:999:\n"),
            tb.directory("var"),
            tb.directory("var/lib"),
            tb.Member("var/lib/keeper", "dir", mode=0o750, uid=UID, gid=UID),
            tb.file("var/lib/keeper/seed", "from the image\n", 0o640, UID, UID),
        ]
    )
    config = {"Env": [PATH_ENV], "Cmd": ["sh"], "User": "keeper", "Volumes": {DATA: {}}}
    return push_image(pusher, "test/keeper", [busybox_layer(), data], config=config)


@pytest.fixture
def made(fresh_shocker: Shocker) -> Iterator[list[str]]:
    """Containers a test made in the fresh root: removed (rm -f -v) before the root goes."""
    containers: list[str] = []
    yield containers
    for container_id in containers:
        fresh_shocker("rm", "-f", "-v", container_id)


def run_stopped(shocker: Shocker, made: list[str], *run_args: str) -> tuple[str, str]:
    """`shocker run RUN_ARGS`, left stopped: its id and output."""
    result = shocker("run", *run_args)
    container_id = shocker("ps", "-q").check().lines[0]
    made.append(container_id)
    assert result.rc == 0, str(result)
    return container_id, result.out


def names_in(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def volume_names(shocker: Shocker) -> list[str]:
    return [line.split()[0] for line in shocker("volume", "ls").check().lines[1:]]


def test_a_new_named_volume_is_filled_from_the_image_so_its_user_can_write(
    fresh_shocker: Shocker, keeper_image: PushedImage, made: list[str]
) -> None:
    _, out = run_stopped(
        fresh_shocker, made, "-v", f"kdata:{DATA}", keeper_image.ref,
        "sh", "-c", f"cat {DATA}/seed && echo mine > {DATA}/written && id -u",
    )  # fmt: skip

    assert out == f"from the image\n{UID}\n"
    volume = fresh_shocker.root / "volumes/kdata"
    info = volume.stat()
    assert (info.st_uid, info.st_gid, info.st_mode & 0o7777) == (UID, UID, 0o750)
    seed = (volume / "seed").stat()
    assert (seed.st_uid, seed.st_mode & 0o777) == (UID, 0o640)
    assert (volume / "written").read_text() == "mine\n"
    assert (volume / "written").stat().st_uid == UID


def test_a_volume_that_holds_data_is_not_filled_again(
    fresh_shocker: Shocker, keeper_image: PushedImage, made: list[str]
) -> None:
    fresh_shocker("volume", "create", "kept").check()
    (fresh_shocker.root / "volumes/kept/own").write_text("own\n")

    run_stopped(fresh_shocker, made, "-u", "0", "-v", f"kept:{DATA}", keeper_image.ref, "true")

    assert names_in(fresh_shocker.root / "volumes/kept") == ["own"]


@pytest.mark.parametrize(
    "flags",
    [("-v", f"bare:{DATA}:nocopy"), ("--volume-opt", "nocopy", "-v", f"bare:{DATA}")],
    ids=["volume-option", "volume-opt-flag"],
)
def test_nocopy_leaves_the_new_volume_empty_and_root_owned(
    fresh_shocker: Shocker, keeper_image: PushedImage, made: list[str], flags: tuple[str, ...]
) -> None:
    result = fresh_shocker("run", *flags, keeper_image.ref, "touch", f"{DATA}/x")
    made.append(fresh_shocker("ps", "-q").check().lines[0])

    assert result.rc != 0
    assert "Permission denied" in result.err + result.out
    volume = fresh_shocker.root / "volumes/bare"
    assert names_in(volume) == []
    assert volume.stat().st_uid == 0


def test_copy_up_keeps_extended_attributes(
    fresh_shocker: Shocker, tmp_path: Path, keeper_image: PushedImage, made: list[str]
) -> None:
    source = tmp_path / "tree"
    (source / "srv").mkdir(parents=True)
    (source / "srv/file").write_text("x\n")
    os.setxattr(source / "srv/file", "user.origin", b"the image")
    os.setxattr(source / "srv", "trusted.kind", b"data dir")
    fresh_shocker("pull", keeper_image.ref).check()
    image_id = fresh_shocker("init", str(source), "--name", "attrs:1").check().created_id()
    root = fresh_shocker.root / image_id
    assert os.getxattr(root / "srv/file", "user.origin") == b"the image"

    # The init image has no shell: the container only needs to be created and started.
    fresh_shocker("run", "-v", "attrs:/srv", image_id, "/nothing")
    made.append(fresh_shocker("ps", "-q").check().lines[0])

    volume = fresh_shocker.root / "volumes/attrs"
    assert os.getxattr(volume / "file", "user.origin") == b"the image"
    assert os.getxattr(volume, "trusted.kind") == b"data dir"


def test_an_image_volume_is_an_anonymous_volume_removed_by_rm_v(
    fresh_shocker: Shocker, keeper_image: PushedImage, made: list[str]
) -> None:
    container_id, out = run_stopped(
        fresh_shocker, made, keeper_image.ref, "sh", "-c",
        f"echo more > {DATA}/more && cat {DATA}/seed",
    )  # fmt: skip

    assert out == "from the image\n"
    (name,) = volume_names(fresh_shocker)
    assert ANONYMOUS.match(name)
    volume = fresh_shocker.root / "volumes" / name
    assert names_in(volume) == ["more", "seed"]
    assert volume.stat().st_uid == UID
    # A second run of the same container keeps using its volume.
    fresh_shocker("start", "-a", container_id).check()
    assert volume_names(fresh_shocker) == [name]

    fresh_shocker("rm", "-v", container_id).check()
    made.remove(container_id)

    assert volume_names(fresh_shocker) == []
    assert not volume.exists()


def test_run_rm_removes_its_anonymous_volume_and_keeps_named_ones(
    fresh_shocker: Shocker, keeper_image: PushedImage
) -> None:
    fresh_shocker("run", "--rm", keeper_image.ref, "true").check()
    fresh_shocker("run", "--rm", "-v", f"named:{DATA}", keeper_image.ref, "true").check()

    assert volume_names(fresh_shocker) == ["named"]


def test_volume_prune_removes_anonymous_volumes_no_container_uses(
    fresh_shocker: Shocker, keeper_image: PushedImage, made: list[str]
) -> None:
    gone, _ = run_stopped(fresh_shocker, made, keeper_image.ref, "true")
    (left_behind,) = volume_names(fresh_shocker)
    fresh_shocker("rm", gone).check()  # without -v: the volume stays, unused
    made.remove(gone)
    run_stopped(fresh_shocker, made, keeper_image.ref, "true")
    in_use = next(n for n in volume_names(fresh_shocker) if n != left_behind)
    fresh_shocker("volume", "create", "named").check()

    result = fresh_shocker("volume", "prune", "-f").check()

    assert result.lines[:2] == ["Deleted Volumes:", left_behind]
    assert sorted(volume_names(fresh_shocker)) == sorted([in_use, "named"])
