"""Pay the kernel's wait for the first cgroup migration in the background.

Moving a process between cgroups takes `cgroup_threadgroup_rwsem` for writing. That
percpu rwsem (kernel/locking/percpu-rwsem.c, rcu_sync) makes the first writer after a quiet
spell wait for a full RCU grace period, 10-15 ms on the machines we measured; writers within
the next grace period pass at once. `shocker run` would pay it when it moves pid 1 into the
container's cgroup, on the critical path. Writing our own pid into the cgroup we are already
in is a migration that changes nothing: done in a thread while the container is prepared, it
pays the wait off the critical path, and the real join finds the lock warm.
"""

from __future__ import annotations

import os
from pathlib import Path

from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

# A v1 hierarchy every host that limits containers has; any one is enough (the lock is global).
_V1_CANDIDATES = ("pids", "memory")


def own_procs_file(root: Path, self_cgroup: str) -> Path | None:
    """The cgroup.procs of the cgroup this process is in (`self_cgroup`: /proc/self/cgroup)."""
    v2 = (root / "cgroup.controllers").exists()
    for line in self_cgroup.splitlines():
        _, controllers, path = line.split(":", 2)
        names = controllers.split(",")
        if v2 and controllers == "":
            return root / path.lstrip("/") / "cgroup.procs"
        if not v2:
            for name in _V1_CANDIDATES:
                if name in names and (root / name).is_dir():
                    return root / name / path.lstrip("/") / "cgroup.procs"
    return None


def migrate_in_place(root: Path) -> None:
    """The same no-op migration, now: for a moment when this process would wait anyway.

    The rwsem is warm only for about one grace period after its last writer, and preparing
    a container takes longer than that on a busy host (the join measured 14.6 ms after a
    warm-up 60 ms earlier, strace -ttt): the launcher repeats it right after its fork, while
    the supervisor makes pid 1, so the join that follows finds it warm.
    """
    try:
        with open("/proc/self/cgroup") as f:
            target = own_procs_file(root, f.read())
        if target is not None:
            with open(target, "w") as procs:
                procs.write(str(os.getpid()))
    except OSError:
        pass  # only an optimisation: the real join reports real errors


def prime_migration(root: Path) -> Callable[[], None]:
    """Start the no-op migration in a thread; returns the function that waits for it.

    Wait before forking: a process must not fork while another of its threads is in the
    middle of a system call it depends on (here it would also block the fork itself).
    """
    try:
        with open("/proc/self/cgroup") as f:
            target = own_procs_file(root, f.read())
    except OSError:
        target = None
    if target is None:
        return _nothing
    import _thread

    done = _thread.allocate_lock()
    done.acquire()

    def migrate_to_where_we_are() -> None:
        try:
            with open(target, "w") as procs:
                procs.write(str(os.getpid()))
        except OSError:
            pass  # only an optimisation: the real join reports real errors
        finally:
            done.release()

    _thread.start_new_thread(migrate_to_where_we_are, ())

    def wait() -> None:
        with done:
            pass

    return wait


def _nothing() -> None:
    return None
