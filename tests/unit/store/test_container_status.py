"""A container's status: one enum, the transitions it allows, paused as a frozen running
container, and a record read back from JSON with its status typed."""

from __future__ import annotations

import json

import pytest

from shocker.errors import Conflict
from shocker.store.containers import TRANSITIONS, ContainerRecord, Status, can_become


def _record(state: str = "created") -> ContainerRecord:
    return ContainerRecord(
        id="ps-58122",
        name=None,
        image_id="img-aa090",
        image="busybox",
        command=["sh"],
        created="2024-01-01T00:00:00.000000Z",
        state=state,  # type: ignore[arg-type]  # as JSON gives it
    )


def test_every_status_has_its_transitions() -> None:
    assert set(TRANSITIONS) == set(Status)
    assert can_become(Status.CREATED, Status.RUNNING)
    assert can_become(Status.RUNNING, Status.PAUSED)
    assert can_become(Status.EXITED, Status.RUNNING)  # `start` again
    assert not can_become(Status.CREATED, Status.PAUSED)
    assert not can_become(Status.EXITED, Status.PAUSED)
    assert not can_become(Status.PAUSED, Status.RESTARTING)


def test_a_life_pause_included() -> None:
    record = _record()
    for status in (Status.RUNNING, Status.PAUSED, Status.RUNNING, Status.EXITED):
        record.move_to(status)
        assert record.status == status
    assert (record.state, record.paused) == (Status.EXITED, False)


def test_paused_is_stored_as_running_and_frozen() -> None:
    record = _record("running")
    record.move_to(Status.PAUSED)
    assert (record.state, record.paused) == (Status.RUNNING, True)


def test_a_transition_it_does_not_allow_is_refused() -> None:
    record = _record()
    with pytest.raises(Conflict, match="cannot go from created to paused"):
        record.move_to(Status.PAUSED)
    assert record.status == Status.CREATED


def test_read_back_from_json_typed() -> None:
    record = _record()
    record.move_to(Status.RUNNING)
    data = json.loads(json.dumps(record.to_json()))
    assert data["state"] == "running"
    again = ContainerRecord.from_json(data)
    assert again.state is Status.RUNNING
    assert ContainerRecord.from_json({**data, "state": "hibernating"}).state is Status.EXITED
