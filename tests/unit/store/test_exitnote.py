"""The exit note: blocks reserved at create, overwritten in place when the record cannot be
written, and read back into a record that still says running, for that run only."""

from __future__ import annotations

from pathlib import Path

from shocker.record import replace
from shocker.store import exitnote
from shocker.store.containers import ContainerRecord, ContainerStore, Status
from shocker.store.exitnote import ExitNote
from shocker.store.layout import Layout

STARTED = "2024-01-01T00:00:01.000000Z"


def running(container_id: str) -> ContainerRecord:
    return ContainerRecord(
        id=container_id,
        name=None,
        image_id="img-aa090",
        image="busybox",
        command=["sh"],
        created="2024-01-01T00:00:00.000000Z",
        state=Status.RUNNING,
        started_at=STARTED,
    )


def test_reserved_note_reads_as_none_until_written(tmp_path: Path) -> None:
    exitnote.reserve(tmp_path)
    assert (tmp_path / exitnote.EXIT_NOTE).stat().st_size == exitnote.SIZE
    assert exitnote.read(tmp_path) is None
    note = ExitNote(started_at=STARTED, finished_at="later", exit_code=3, oom_killed=True)
    assert exitnote.write(tmp_path, note)
    assert (tmp_path / exitnote.EXIT_NOTE).stat().st_size == exitnote.SIZE  # in place
    assert exitnote.read(tmp_path) == note


def test_unreserved_or_garbled_note_is_none(tmp_path: Path) -> None:
    note = ExitNote(started_at=None, finished_at="t", exit_code=0)
    assert not exitnote.write(tmp_path, note)  # nothing reserved: nothing written
    (tmp_path / exitnote.EXIT_NOTE).write_bytes(b'{"exit_code": "x"' + bytes(100))
    assert exitnote.read(tmp_path) is None


def test_a_note_completes_the_record_of_its_own_run_only(tmp_path: Path) -> None:
    store = ContainerStore(Layout(tmp_path))
    for container_id in ("ps-00001", "ps-00002"):
        store.layout.container_dir(container_id).mkdir(parents=True)
        exitnote.reserve(store.layout.container_dir(container_id))
        store.save(running(container_id))
    note = ExitNote(started_at=STARTED, finished_at="2024-01-01T00:00:09Z", exit_code=3)
    noted = store.note_exit("ps-00001", note)
    assert noted is not None
    assert (noted.state, noted.exit_code, noted.finished_at) == (Status.EXITED, 3, note.finished_at)
    # A later run (a restart) is not ended by the note of an earlier one.
    store.save(replace(running("ps-00001"), started_at="2024-01-02T00:00:00.000000Z"))
    assert store.get("ps-00001").state == Status.RUNNING
    assert store.get("ps-00002").state == Status.RUNNING
