"""Atomic writes leave the old or the new content; flock excludes a second holder."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

import pytest

from shocker.errors import StorageError
from shocker.store.atomic import file_lock, read_json, write_bytes_atomic, write_json_atomic


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_json_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    write_json_atomic(path, {"id": "img-aa090", "layers": [1, 2]})
    assert read_json(path) == {"id": "img-aa090", "layers": [1, 2]}


def test_replacing_a_file_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "data"
    write_bytes_atomic(path, b"old")
    write_bytes_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    assert names(tmp_path) == ["data"]


def test_a_failed_write_keeps_the_old_content(tmp_path: Path) -> None:
    path = tmp_path / "data"
    write_bytes_atomic(path, b"old")
    with pytest.raises(StorageError):
        write_bytes_atomic(tmp_path / "missing-dir" / "data", b"new")
    assert path.read_bytes() == b"old"


def test_a_corrupt_record_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"id": ')
    with pytest.raises(StorageError, match="corrupt"):
        read_json(path)


def test_a_missing_record_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_json(tmp_path / "none.json")


def test_lock_creates_its_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "locks" / "deep" / "ids.lock"
    with file_lock(path):
        assert path.exists()


def _try_lock(path: Path, flags: int) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, flags | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def test_an_exclusive_lock_excludes_others_until_released(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with file_lock(path):
        assert not _try_lock(path, fcntl.LOCK_SH)
    assert _try_lock(path, fcntl.LOCK_EX)


def test_shared_locks_admit_each_other_but_not_an_exclusive_one(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with file_lock(path, shared=True):
        assert _try_lock(path, fcntl.LOCK_SH)
        assert not _try_lock(path, fcntl.LOCK_EX)


def test_a_waiting_locker_proceeds_after_release(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    order: list[str] = []
    with file_lock(path):
        waiter = threading.Thread(target=lambda: _locked_append(path, order))
        waiter.start()
        waiter.join(0.2)
        order.append("first released")
    waiter.join(10)
    assert order == ["first released", "second"]


def _locked_append(path: Path, order: list[str]) -> None:
    with file_lock(path):
        order.append("second")
