"""apply_layer as root on btrfs: owners, devices, setuid, xattrs and capabilities survive."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

from shocker.store.unpack import apply_layer
from tests.unit.store.layertar import Entry, build, directory, file, symlink

# security.capability for cap_net_raw+ep (VFS_CAP_REVISION_2), as setcap(8) writes it.
CAP_NET_RAW = bytes.fromhex("0100000200200000000000000000000000000000")


def apply(entries: list[Entry], target: Path) -> None:
    apply_layer(io.BytesIO(build(entries)), target)


def test_owners_of_files_directories_and_symlinks_are_preserved(scratch_dir: Path) -> None:
    apply(
        [
            directory("home/user", uid=1000, gid=1000, mode=0o750),
            file("home/user/notes", b"x", uid=1000, gid=100),
            symlink("home/user/link", "notes", uid=1000, gid=1000),
        ],
        scratch_dir,
    )
    for path, owner in [
        ("home/user", (1000, 1000)),
        ("home/user/notes", (1000, 100)),
        ("home/user/link", (1000, 1000)),
    ]:
        info = (scratch_dir / path).lstat()
        assert (info.st_uid, info.st_gid) == owner
    assert stat.S_IMODE((scratch_dir / "home/user").stat().st_mode) == 0o750


def test_setuid_root_binaries_keep_their_bits(scratch_dir: Path) -> None:
    apply(
        [
            file("bin/su", b"elf", uid=0, gid=0, mode=0o4755),
            file("bin/x", b"e", uid=5, mode=0o6711),
        ],
        scratch_dir,
    )
    assert stat.S_IMODE((scratch_dir / "bin/su").stat().st_mode) == 0o4755
    info = (scratch_dir / "bin/x").stat()
    assert stat.S_IMODE(info.st_mode) == 0o6711 and info.st_uid == 5


def test_device_nodes_and_fifos_are_created(scratch_dir: Path) -> None:
    apply(
        [
            Entry("dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3),
            Entry("dev/loopX", tarfile.BLKTYPE, mode=0o660, gid=6, devmajor=7, devminor=200),
            Entry("dev/fifo", tarfile.FIFOTYPE, mode=0o600),
        ],
        scratch_dir,
    )
    null = (scratch_dir / "dev/null").lstat()
    assert (
        stat.S_ISCHR(null.st_mode) and os.major(null.st_rdev) == 1 and os.minor(null.st_rdev) == 3
    )
    assert stat.S_IMODE(null.st_mode) == 0o666
    loop = (scratch_dir / "dev/loopX").lstat()
    assert stat.S_ISBLK(loop.st_mode) and os.minor(loop.st_rdev) == 200 and loop.st_gid == 6
    assert stat.S_ISFIFO((scratch_dir / "dev/fifo").lstat().st_mode)


def test_xattrs_and_file_capabilities_are_preserved(scratch_dir: Path) -> None:
    apply(
        [
            file(
                "bin/ping",
                b"elf",
                uid=0,
                mode=0o755,
                pax={"SCHILY.xattr.security.capability": CAP_NET_RAW.decode("latin-1")},
            ),
            file("data", b"x", uid=1000, pax={"SCHILY.xattr.user.origin": "layer"}),
        ],
        scratch_dir,
    )
    assert os.getxattr(scratch_dir / "data", "user.origin") == b"layer"
    assert os.getxattr(scratch_dir / "bin/ping", "security.capability") == CAP_NET_RAW
