"""`top`: the host's `ps` output, narrowed to the processes in the container's cgroup."""

from __future__ import annotations

from shocker.engine.lifecycle import container_cgroup
from shocker.engine.status import is_running
from shocker.errors import NotRunning, ShockerError
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.settings import Settings
    from shocker.store.containers import ContainerRecord


def top(settings: Settings, record: ContainerRecord, ps_args: list[str]) -> list[str]:
    """`ps ps_args` lines (header first) for the container's processes, as Docker does."""
    from shocker.linux.commands import run

    if not is_running(record):
        raise NotRunning(f"Container '{record.id}' exists but is not running")
    pids = set(container_cgroup(settings, record.id).pids())
    output = run(["ps", *(ps_args or ["-ef"])], what="ps").stdout
    return select_rows(output, pids)


def select_rows(output: str, pids: set[int]) -> list[str]:
    """The header and the lines whose PID column is one of pids."""
    lines = output.splitlines()
    if not lines:
        raise ShockerError("ps printed nothing")
    header = lines[0].split()
    if "PID" not in header:
        raise ShockerError("Couldn't find PID field in ps output", hint="add -o pid to the options")
    column = header.index("PID")
    rows = [lines[0]]
    for line in lines[1:]:
        fields = line.split(None, len(header) - 1)
        if len(fields) > column and fields[column].isdigit() and int(fields[column]) in pids:
            rows.append(line)
    return rows
