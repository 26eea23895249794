"""Containers: a root filesystem `ROOT/ps-xxxxx` (snapshot of the image) and a state record.

The record (`state.json` in the container's directory) is rewritten atomically on every
change, under the container's lock when read-modify-write.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

from shocker.errors import Conflict, NotFound, StorageError, UsageError
from shocker.record import field, fields
from shocker.record import record as record_class
from shocker.static import TYPE_CHECKING
from shocker.store import btrfs, exitnote, subids
from shocker.store.atomic import file_lock, move, read_json, sync_file, write_json_atomic
from shocker.store.container_config import (
    ContainerConfig,
    NetworkAttachment,
    PublishedPort,
    network_json,
    ports_from_json,
    ports_json,
)
from shocker.store.ids import new_id
from shocker.store.images import ImageRecord
from shocker.store.layers import scratch_path
from shocker.store.layout import Layout
from shocker.store.records import by_id_prefix, record_files

if TYPE_CHECKING:
    from typing import Any


STATE_FILE = "state.json"
LOG_FILE = "container.log"  # raw bytes, containers made before json-file logs
JSON_LOG_FILE = "container-json.log"  # Docker's json-file format, rotated as .1, .2, ...
# Held (flock) by the container's supervisor for as long as it runs: whoever sees this
# store sees whether the container is up, in any pid namespace and whatever pids were reused.
LIVENESS_LOCK = "running.lock"
# Docker's rule for container names. Patterns as text, compiled by re on first use: the
# seven that `run` imports cost 0.56 ms to compile at import, on every start, most of them
# for input that a start never sees.
VALID_NAME = r"[a-zA-Z0-9][a-zA-Z0-9_.-]*"


class Status(StrEnum):
    """Docker's State.Status of a container. The record keeps the lifecycle's (`state`);
    paused is a running container whose cgroup is frozen (`paused`)."""

    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    RESTARTING = "restarting"
    EXITED = "exited"


# What may follow what. RUNNING -> RUNNING: started again after its supervisor died without
# recording the exit; EXITED -> EXITED: an exit recorded twice (the monitor and `rm -f`).
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.CREATED: frozenset({Status.RUNNING, Status.EXITED}),  # started; its start failed
    Status.RUNNING: frozenset({Status.RUNNING, Status.PAUSED, Status.RESTARTING, Status.EXITED}),
    Status.PAUSED: frozenset({Status.RUNNING, Status.EXITED}),
    Status.RESTARTING: frozenset({Status.RUNNING, Status.EXITED}),
    # `start` again; a restart policy's wait before it starts the container again.
    Status.EXITED: frozenset({Status.RUNNING, Status.RESTARTING, Status.EXITED}),
}


def can_become(current: Status, wanted: Status) -> bool:
    return wanted in TRANSITIONS[current]


@record_class()
class ContainerRecord:
    id: str
    name: str | None
    image_id: str
    image: str  # what the user typed, or the image's familiar name
    command: list[str]
    created: str
    # Everything below starts as a container that was never run has it.
    state: Status = Status.CREATED  # created, running, restarting or exited
    pid: int | None = None
    pid_start_time: int | None = None
    supervisor_pid: int | None = None
    exit_code: int | None = None
    oom_killed: bool = False
    started_at: str | None = None
    finished_at: str | None = None
    auto_remove: bool = False
    config: ContainerConfig = ContainerConfig()  # enough to start it again
    network: NetworkAttachment | None = None  # its address, while on the bridge
    ports: tuple[PublishedPort, ...] = ()
    cgroup: str | None = None
    paused: bool = False  # its cgroup is frozen (`pause`); still running
    labels: dict[str, str] = field(default_factory=dict)
    restart_count: int = 0  # restarts its restart policy made
    stopping: bool = False  # `stop`/`rm -f` asked it to end: its restart policy is over
    # What its last teardown could not free ("cgroup: ...", "network: ...", "runtime: ...").
    teardown_errors: list[str] = field(default_factory=list)
    # Its metadata directory as the store that read it sees it (not kept in state.json: the
    # same store is mounted elsewhere in a container running shocker).
    directory: str = ""

    def __post_init__(self) -> None:
        try:
            self.state = Status(self.state)
        except ValueError:
            # A state this version does not know (a newer one wrote it): not running.
            self.state = Status.EXITED

    def to_json(self) -> dict[str, Any]:
        """The record as state.json holds it (and `inspect` shows it), with its directory."""
        data = {name: getattr(self, name) for name in _FIELDS_IN_ORDER}
        data["config"] = self.config.to_json()
        data["network"] = network_json(self.network)
        data["ports"] = ports_json(self.ports)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ContainerRecord:
        """The record from state.json: keys it does not know are ignored (a newer version
        wrote them), missing ones take their defaults (an older one did)."""
        known = {key: value for key, value in data.items() if key in _FIELDS}
        known["config"] = ContainerConfig.from_json(data.get("config"))
        known["network"] = NetworkAttachment.from_json(data.get("network"))
        known["ports"] = ports_from_json(data.get("ports"))
        return cls(**known)

    @property
    def status(self) -> Status:
        if self.state == Status.RUNNING and self.paused:
            return Status.PAUSED
        return self.state

    def move_to(self, wanted: Status) -> None:
        """Change status, as TRANSITIONS allows; Conflict otherwise."""
        if not can_become(self.status, wanted):
            raise Conflict(f"container {self.id} cannot go from {self.status} to {wanted}")
        self.paused = wanted == Status.PAUSED
        self.state = Status.RUNNING if wanted == Status.PAUSED else wanted


_FIELDS_IN_ORDER = fields(ContainerRecord)
_FIELDS = frozenset(_FIELDS_IN_ORDER)


def _apply_exit(record: ContainerRecord, note: exitnote.ExitNote) -> None:
    record.state = Status.EXITED
    record.paused = False
    record.exit_code = note.exit_code
    record.oom_killed = note.oom_killed
    record.finished_at = note.finished_at


class ContainerStore:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def _state_path(self, container_id: str) -> Path:
        return self.layout.container_dir(container_id) / STATE_FILE

    def _taken(self, container_id: str) -> bool:
        rootfs = self.layout.container_rootfs(container_id)
        return (
            self.layout.container_dir(container_id).exists()
            or rootfs.exists()
            or rootfs.is_symlink()
        )

    def create(
        self,
        image: ImageRecord,
        name: str | None,
        make_record: Callable[[str], ContainerRecord],
        rootfs_from: Path | None = None,
    ) -> ContainerRecord:
        """Snapshot the image (or `rootfs_from`, a build step's filesystem) into a new
        `ps-xxxxx` and write its first record.

        Raises Conflict if `name` belongs to another container (checked under the id lock,
        so two concurrent creates cannot both take it).
        """
        if name is not None and not re.fullmatch(VALID_NAME, name):
            raise UsageError(
                f"invalid container name '{name}': use letters, digits and _ . - (not first)"
            )
        scratch = scratch_path(self.layout, "ps")
        btrfs.snapshot(rootfs_from or self.layout.image_rootfs(image.id), scratch)
        container_id = None
        try:
            with file_lock(self.layout.lock("ids")):
                if rootfs_from is None and not self.layout.image_record(image.id).exists():
                    raise NotFound(f"No image named '{image.id}' exists")  # removed meanwhile
                if name is not None:
                    self._check_name(name)
                container_id = new_id("ps", self._taken)
                move(scratch, self.layout.container_rootfs(container_id))
                self.layout.container_dir(container_id).mkdir(parents=True)
                exitnote.reserve(self.layout.container_dir(container_id))
                record = make_record(container_id)
                record.directory = str(self.layout.container_dir(container_id))
                # Visible to the next name check at once; made durable after the lock, so
                # concurrent creates do not queue behind each other's fsync (50 at once:
                # the ids lock was held through 50 flushes in a row). A crash in between
                # leaves what a crash just before the rename leaves: a directory whose
                # record cannot be read, skipped by list() like one being created.
                self.save(record, durable=False)
            sync_file(self._state_path(container_id))
        except BaseException:
            btrfs.delete_subvolume(scratch)
            if container_id is not None:
                self.remove(container_id)
            raise
        return record

    def _check_name(self, name: str) -> None:
        for other in self.list():
            if other.name == name:
                raise Conflict(
                    f"The container name '{name}' is already in use by {other.id}",
                    hint=f"remove it with 'shocker rm {other.id}' or choose another name",
                )

    def rename(self, container_id: str, name: str) -> ContainerRecord:
        """Give the container a new name (checked free under the same lock as create)."""
        if not re.fullmatch(VALID_NAME, name):
            raise UsageError(
                f"invalid container name '{name}': use letters, digits and _ . - (not first)"
            )
        with file_lock(self.layout.lock("ids")):
            if self.get(container_id).name == name:
                raise Conflict(
                    f"Renaming a container with the same name as its current name: '{name}'"
                )
            self._check_name(name)

            def change(record: ContainerRecord) -> None:
                record.name = name

            return self.update(container_id, change)

    def save(self, record: ContainerRecord, durable: bool = True) -> None:
        data = record.to_json()
        del data["directory"]
        write_json_atomic(self._state_path(record.id), data, durable=durable)

    def _load(self, path: Path) -> ContainerRecord:
        record = ContainerRecord.from_json(read_json(path))
        record.directory = str(path.parent)
        if record.state == Status.RUNNING:
            # Its exit may be noted beside the record, when the store was too full for it.
            note = exitnote.read(path.parent)
            if note is not None and note.started_at == record.started_at:
                _apply_exit(record, note)
        return record

    def note_exit(self, container_id: str, note: exitnote.ExitNote) -> ContainerRecord | None:
        """Keep how the run ended in the space reserved for it at create, for when the
        record cannot be written (a full store); the record as read from then on, or None
        when that failed too."""
        with file_lock(self.layout.lock(container_id)):
            if not exitnote.write(self.layout.container_dir(container_id), note):
                return None
            return self.get(container_id)

    def get(self, container_id: str) -> ContainerRecord:
        if not container_id or "/" in container_id or container_id.startswith("."):
            raise NotFound(f"No container named '{container_id}' exists")
        try:
            return self._load(self._state_path(container_id))
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"No container named '{container_id}' exists") from None

    def list(self) -> list[ContainerRecord]:
        records = []
        for directory in record_files(self.layout.containers, suffix=""):
            try:
                records.append(self._load(directory / STATE_FILE))
            except (FileNotFoundError, NotADirectoryError, StorageError, TypeError):
                continue  # being created or removed
        return records

    def resolve(self, text: str) -> ContainerRecord:
        """A container by id, name, or unique id prefix."""
        if text.startswith("ps-") and self._state_path(text).exists():
            return self.get(text)
        records = self.list()
        for record in records:
            if record.name == text:
                return record
        match = by_id_prefix(records, text, "ps", "containers")
        if match is not None:
            return match
        raise NotFound(f"No container named '{text}' exists")

    def update(
        self,
        container_id: str,
        change: Callable[[ContainerRecord], None],
        *,
        durable: bool | None = True,
    ) -> ContainerRecord:
        """Read, change and write the record under the container's lock; the new record.

        `durable=False` skips the fsync (3-50 ms each on a busy btrfs, measured with strace
        -T; three per `run`) for state that a machine crash makes moot anyway: what
        describes live processes, namespaces or rules that die with it. None: durable
        unless the container is removed when it exits (`--rm`).
        """
        with file_lock(self.layout.lock(container_id)):
            record = self.get(container_id)
            change(record)
            self.save(record, durable=not record.auto_remove if durable is None else durable)
        return record

    def remove(self, container_id: str) -> None:
        """Unlist the container (its directory moves away first), then delete its files.

        Idempotent: removing a container that is gone is not an error.
        """
        if not container_id or "/" in container_id or container_id.startswith("."):
            raise NotFound(f"No container named '{container_id}' exists")
        lock = self.layout.lock(container_id)
        with file_lock(lock):
            directory = self.layout.container_dir(container_id)
            retired = scratch_path(self.layout, "rm")
            try:
                directory.rename(retired)
            except FileNotFoundError:
                pass
            except OSError as error:
                raise StorageError(f"cannot remove {container_id}: {error.strerror}") from error
            btrfs.delete_subvolume(self.layout.container_rootfs(container_id))
            subids.release(self.layout, container_id)
            _remove_quietly(str(retired))
            lock.unlink(missing_ok=True)

    def log_path(self, container_id: str, driver: str = "raw") -> Path:
        name = JSON_LOG_FILE if driver == "json-file" else LOG_FILE
        return self.layout.container_dir(container_id) / name


def _remove_quietly(path: str) -> None:
    """shutil.rmtree(path, ignore_errors=True) for a container's few metadata files, without
    importing shutil (~1.5 ms on every `run --rm`)."""
    try:
        with os.scandir(path) as listing:
            entries = list(listing)
    except OSError:
        entries = []
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                _remove_quietly(entry.path)
            else:
                Path(entry.path).unlink()
        except OSError:
            continue
    try:
        Path(path).rmdir()
    except OSError:
        return
