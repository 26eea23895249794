"""Hostile layers (path traversal, absolute names, symlink and hardlink escapes) never write
outside the image: the canary directory they aim at and the host's /etc/passwd stay as they were.
A pull may refuse such a layer or keep the members inside the image; both are fine."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from tests.support.catalog import HOSTILE_KINDS, VICTIM, VICTIM_CONTENT, ImageSet
from tests.support.shocker import Shocker


def _tree(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): p.read_text() if p.is_file() else "<dir>"
        for p in directory.rglob("*")
    }


def _stray_escapes(btrfs_root: Path, shocker_root: Path) -> list[str]:
    """`escape-*` files anywhere on the test filesystem outside image and layer trees."""
    found = subprocess.run(
        ["find", str(btrfs_root), "-xdev", "-name", "escape-*"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    allowed = (str(shocker_root / ".shocker" / "layers"), str(shocker_root / "img-"))
    return [path for path in found if not path.startswith(allowed)]


@pytest.mark.parametrize("kind", HOSTILE_KINDS)
def test_a_hostile_layer_writes_nothing_outside_the_image(
    fresh_shocker: Shocker, images: ImageSet, btrfs_mount: Path, kind: str
) -> None:
    passwd_before = hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest()

    result = fresh_shocker("pull", images.hostile[kind].ref)

    assert "Traceback" not in result.err, str(result)
    assert _tree(images.canary) == {VICTIM: VICTIM_CONTENT}, str(result)
    assert hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest() == passwd_before
    assert _stray_escapes(btrfs_mount, fresh_shocker.root) == [], str(result)
    assert not Path("/escape-traversal").exists()


@pytest.mark.parametrize("kind", HOSTILE_KINDS)
def test_a_refused_hostile_layer_leaves_no_image(
    fresh_shocker: Shocker, images: ImageSet, kind: str
) -> None:
    result = fresh_shocker("pull", images.hostile[kind].ref)

    listed = fresh_shocker("images", "-q").check().out.split()
    if result.rc == 0:
        assert listed == [result.created_id()]
    else:
        assert "Traceback" not in result.err, str(result)
        assert listed == []
