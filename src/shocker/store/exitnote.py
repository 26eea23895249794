"""How a container's run ended, kept where a full store still has room for it.

A container that fills the store leaves no space for the new state.json its exit needs
(btrfs refuses even a small new file, and a rewrite of one in place: copy-on-write needs a
new extent). So each container gets, at create, a small file whose blocks are taken then:
preallocated (posix_fallocate) and, on btrfs, No_COW (chattr +C, which must be set while
the file is empty), so writing it later overwrites those blocks in place and needs no new
space. Its zeros mean "nothing noted"; the record is what counts when it could be written.
"""

from __future__ import annotations

import fcntl
import os
import struct
from pathlib import Path

from shocker import leanjson
from shocker.record import record

EXIT_NOTE = "exit-note"
SIZE = 512

# <linux/fs.h>: FS_IOC_GETFLAGS / FS_IOC_SETFLAGS (an int, whatever the ioctl's nominal
# long), FS_NOCOW_FL.
_FS_IOC_GETFLAGS = 0x80086601
_FS_IOC_SETFLAGS = 0x40086602
_FS_NOCOW_FL = 0x00800000


@record(frozen=True, kw_only=True)
class ExitNote:
    started_at: str | None  # the run it belongs to (a restart makes a new one)
    finished_at: str
    exit_code: int
    oom_killed: bool = False


def reserve(directory: Path) -> None:
    """Take the note's blocks now, while there is room. Best effort: without them the
    note is only as likely to be written as the record."""
    try:
        fd = os.open(directory / EXIT_NOTE, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        return
    try:
        try:
            (flags,) = struct.unpack("i", fcntl.ioctl(fd, _FS_IOC_GETFLAGS, bytes(8))[:4])
            fcntl.ioctl(fd, _FS_IOC_SETFLAGS, struct.pack("i", flags | _FS_NOCOW_FL) + bytes(4))
        except OSError:
            pass  # not btrfs (nor another filesystem with the flag): a plain preallocation
        os.posix_fallocate(fd, 0, SIZE)
    except OSError:
        pass
    finally:
        os.close(fd)


def write(directory: Path, note: ExitNote) -> bool:
    """Overwrite the reserved blocks with `note`, durably; whether that worked."""
    data = leanjson.dumps(
        {
            "started_at": note.started_at,
            "finished_at": note.finished_at,
            "exit_code": note.exit_code,
            "oom_killed": note.oom_killed,
        }
    ).encode()
    if len(data) > SIZE:
        return False
    try:
        fd = os.open(directory / EXIT_NOTE, os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        os.pwrite(fd, data.ljust(SIZE, b" "), 0)
        os.fdatasync(fd)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def read(directory: Path) -> ExitNote | None:
    """The note, or None when none was written (or it cannot be read)."""
    try:
        with open(directory / EXIT_NOTE, "rb") as f:
            raw = f.read(SIZE).strip(b"\0 ")
    except OSError:
        return None
    if not raw:
        return None
    try:
        data = leanjson.loads(raw)
        if not isinstance(data, dict):
            return None
        return ExitNote(
            started_at=data["started_at"] if isinstance(data["started_at"], str) else None,
            finished_at=str(data["finished_at"]),
            exit_code=int(data["exit_code"]),
            oom_killed=bool(data.get("oom_killed", False)),
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
