"""Host id ranges for containers' user namespaces (--userns=auto).

The ids come from /etc/subuid and /etc/subgid (subuid(5): `name:start:count` lines): the
`containers` user's entries when there are any (podman's convention), else the `shocker`
entries `shocker setup` adds. Each container gets one range of uids and one of gids, never
overlapping another container's, recorded in ROOT/.shocker/userns.json under a lock and
released when the container is removed. Host ids below 100000 are never handed out: they
belong to the host's own users.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from shocker.errors import ShockerError, StorageError
from shocker.record import record
from shocker.store.atomic import file_lock, read_json, write_json_atomic
from shocker.store.layout import Layout

FIRST_ID = 100000  # the lowest host id a container may get
MIN_SIZE = 1024
DEFAULT_SIZE = 65536
OWNERS = ("containers", "shocker")  # whose entries are used, in this order
# What `shocker setup` adds: room for 512 containers of the default size.
SETUP_COUNT = 512 * DEFAULT_SIZE


class NoSubordinateIds(ShockerError):
    """No usable (or no free) range in /etc/subuid or /etc/subgid."""


@record(frozen=True)
class SubIdRange:
    start: int
    count: int

    @property
    def end(self) -> int:
        return self.start + self.count


@record(frozen=True)
class IdAllocation:
    """Container ids 0..size-1 are host uids uid.. and host gids gid.."""

    uid: int
    gid: int
    size: int


def parse(text: str) -> dict[str, list[SubIdRange]]:
    """Each name's ranges, in file order; comments, blank and malformed lines are skipped
    (shadow-utils skips them too)."""
    found: dict[str, list[SubIdRange]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(":")
        if len(fields) != 3 or not fields[1].isdigit() or not fields[2].isdigit():
            continue
        start, count = int(fields[1]), int(fields[2])
        if count > 0:
            found.setdefault(fields[0], []).append(SubIdRange(start, count))
    return found


def usable(ranges: dict[str, list[SubIdRange]]) -> tuple[str, list[SubIdRange]] | None:
    """(owner, its ranges clipped to ids >= FIRST_ID) for the first owner that has any."""
    for owner in OWNERS:
        clipped = [
            SubIdRange(max(r.start, FIRST_ID), r.end - max(r.start, FIRST_ID))
            for r in ranges.get(owner, [])
            if r.end > FIRST_ID
        ]
        if clipped:
            return owner, clipped
    return None


def first_free(ranges: Iterable[SubIdRange], taken: Iterable[SubIdRange], size: int) -> int | None:
    """The lowest start of `size` ids inside one of `ranges` that overlaps none of `taken`."""
    busy = list(taken)
    for span in sorted(ranges, key=lambda r: r.start):
        # A lowest free start is the range's own start or the end of a taken range.
        starts = sorted({span.start, *(o.end for o in busy if span.start < o.end < span.end)})
        for start in starts:
            if start + size <= span.end and all(
                o.end <= start or o.start >= start + size for o in busy
            ):
                return start
    return None


def setup_entry(texts: Iterable[str], name: str = "shocker") -> str | None:
    """The line `shocker setup` appends (to both files), or None when every file already
    has an owner with ids >= FIRST_ID. It starts past every entry of either file."""
    ends = [FIRST_ID]
    ready = True
    for text in texts:
        ranges = parse(text)
        ready = ready and usable(ranges) is not None
        ends += [r.end for rs in ranges.values() for r in rs]
    return None if ready else f"{name}:{max(ends)}:{SETUP_COUNT}\n"


def add_setup_entries(subuid: Path, subgid: Path, say: Callable[[str], None]) -> None:
    """Give `shocker` subordinate ids for --userns=auto, unless some owner has them."""
    texts = []
    for path in (subuid, subgid):
        try:
            texts.append(path.read_text())
        except FileNotFoundError:
            texts.append("")
        except OSError as error:
            raise StorageError(f"cannot read {path}: {error.strerror}") from None
    entry = setup_entry(texts)
    if entry is None:
        say(f"Subordinate ids for --userns=auto: already in {subuid} and {subgid}")
        return
    for path, text in zip((subuid, subgid), texts, strict=True):
        try:
            with open(path, "a") as f:
                f.write(("\n" if text and not text.endswith("\n") else "") + entry)
        except OSError as error:
            raise StorageError(f"cannot update {path}: {error.strerror}") from None
    say(f"Added to {subuid} and {subgid}: {entry.strip()}")


class SubIds:
    """The allocations of one store, against the host's subuid/subgid files."""

    def __init__(self, layout: Layout, subuid: Path, subgid: Path) -> None:
        self.layout = layout
        self.subuid = subuid
        self.subgid = subgid

    @property
    def path(self) -> Path:
        return allocations_path(self.layout)

    def allocate(self, container_id: str, size: int, live: Callable[[str], bool]) -> IdAllocation:
        """A new range for `container_id`. Allocations of containers that no longer exist
        (`live` says) are dropped first. Raises NoSubordinateIds."""
        uids = self._ranges(self.subuid)
        gids = self._ranges(self.subgid)
        with file_lock(self.layout.lock("userns")):
            allocations = {
                cid: a for cid, a in _read(self.path).items() if cid != container_id and live(cid)
            }
            uid = first_free(uids, (SubIdRange(a.uid, a.size) for a in allocations.values()), size)
            gid = first_free(gids, (SubIdRange(a.gid, a.size) for a in allocations.values()), size)
            if uid is None or gid is None:
                path = self.subuid if uid is None else self.subgid
                raise NoSubordinateIds(
                    f"no free range of {size} ids left in {path} for another container",
                    hint="remove containers, or give the owner more ids",
                )
            allocation = IdAllocation(uid, gid, size)
            allocations[container_id] = allocation
            _write(self.path, allocations)
        return allocation

    def allocations(self) -> dict[str, IdAllocation]:
        return _read(allocations_path(self.layout))

    def _ranges(self, path: Path) -> list[SubIdRange]:
        try:
            text = path.read_text()
        except FileNotFoundError:
            text = ""
        except OSError as error:
            raise NoSubordinateIds(f"cannot read {path}: {error.strerror}") from None
        found = usable(parse(text))
        if found is None:
            raise NoSubordinateIds(
                f"--userns=auto: no subordinate ids >= {FIRST_ID} for "
                f"'{OWNERS[0]}' or '{OWNERS[1]}' in {path}",
                hint="run `shocker setup`, which adds a 'shocker' entry",
            )
        return found[1]


def allocations_path(layout: Layout) -> Path:
    return layout.meta / "userns.json"


def release(layout: Layout, container_id: str) -> None:
    """Forget the container's range (at its removal); nothing to do when it has none."""
    path = allocations_path(layout)
    if not path.exists():
        return
    with file_lock(layout.lock("userns")):
        allocations = _read(path)
        if allocations.pop(container_id, None) is not None:
            _write(path, allocations)


def _read(path: Path) -> dict[str, IdAllocation]:
    try:
        data = read_json(path)
    except FileNotFoundError:
        return {}
    if not isinstance(data, dict):
        raise StorageError(f"{path} is corrupt: not an object")
    result = {}
    for cid, item in data.items():
        try:
            result[str(cid)] = IdAllocation(int(item["uid"]), int(item["gid"]), int(item["size"]))
        except (KeyError, TypeError, ValueError):
            raise StorageError(f"{path} is corrupt: entry {cid!r}") from None
    return result


def _write(path: Path, allocations: dict[str, IdAllocation]) -> None:
    write_json_atomic(
        path,
        {cid: {"uid": a.uid, "gid": a.gid, "size": a.size} for cid, a in allocations.items()},
    )
