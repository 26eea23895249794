"""ContainerStore reading: resolve by id, name or prefix; update under lock; log path."""

from __future__ import annotations

from pathlib import Path

import pytest

from shocker.errors import NotFound, UsageError
from shocker.record import replace
from shocker.store.container_config import ContainerConfig
from shocker.store.containers import ContainerRecord, ContainerStore, Status
from shocker.store.layout import Layout


def record(container_id: str, name: str | None) -> ContainerRecord:
    return ContainerRecord(
        id=container_id,
        name=name,
        image_id="img-aa090",
        image="busybox",
        command=["sh"],
        created="2024-01-01T00:00:00.000000Z",
        config=ContainerConfig(argv=("sh",)),
    )


@pytest.fixture
def containers(tmp_path: Path) -> ContainerStore:
    store = ContainerStore(Layout(tmp_path))
    for container in [
        record("ps-58122", "web"),
        record("ps-58aaa", None),
        record("ps-90000", "db"),
    ]:
        store.layout.container_dir(container.id).mkdir(parents=True)
        store.save(container)
    return store


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ps-58122", "ps-58122"),
        ("web", "ps-58122"),
        ("581", "ps-58122"),
        ("ps-58a", "ps-58aaa"),
        ("db", "ps-90000"),
        ("9", "ps-90000"),
    ],
)
def test_containers_resolve_by_id_name_or_prefix(
    containers: ContainerStore, text: str, expected: str
) -> None:
    assert containers.resolve(text).id == expected


@pytest.mark.parametrize("text", ["foo", "ps-1", "ps-", "../x"])
def test_unknown_containers_are_not_found_with_the_originals_message(
    containers: ContainerStore, text: str
) -> None:
    with pytest.raises(NotFound, match=f"^No container named '{text}' exists$"):
        containers.resolve(text)


def test_an_ambiguous_prefix_is_an_error(containers: ContainerStore) -> None:
    with pytest.raises(UsageError, match="ps-58122, ps-58aaa"):
        containers.resolve("58")


def test_update_writes_the_change_and_returns_the_new_record(containers: ContainerStore) -> None:
    def start(r: ContainerRecord) -> None:
        r.state, r.pid = Status.RUNNING, 4242

    updated = containers.update("ps-58122", start)
    assert (updated.state, updated.pid) == ("running", 4242)
    assert containers.get("ps-58122").pid == 4242


def test_records_list_round_trips_every_field(containers: ContainerStore) -> None:
    listed = {r.id: r for r in containers.list()}
    # The directory is the one this store sees, set on reading (state.json does not hold it).
    directory = str(containers.layout.container_dir("ps-58122"))
    assert listed["ps-58122"] == replace(record("ps-58122", "web"), directory=directory)
    assert "directory" not in (Path(directory) / "state.json").read_text()
    assert set(listed) == {"ps-58122", "ps-58aaa", "ps-90000"}


def test_a_directory_without_a_record_is_not_listed(containers: ContainerStore) -> None:
    containers.layout.container_dir("ps-00000").mkdir()
    assert "ps-00000" not in {r.id for r in containers.list()}


def test_the_log_lives_in_the_containers_directory(containers: ContainerStore) -> None:
    assert containers.log_path("ps-58122").parent == containers.layout.container_dir("ps-58122")
