"""`run` = create + launch, as `docker run` is `docker create` + `docker start`."""

from __future__ import annotations

from shocker.engine.create import create_container
from shocker.engine.launch import launch
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.engine.options import RunOptions
    from shocker.engine.pull import PullReporter
    from shocker.settings import Settings
    from shocker.store.store import Store


def run_container(
    store: Store, settings: Settings, options: RunOptions, reporter: PullReporter
) -> tuple[str, int]:
    """Returns (container id, exit code); detached: the code is 0 once it runs."""
    from shocker.cgroups.warmup import prime_migration

    # Overlaps the kernel's first-migration wait with creating the container (see warmup).
    primed = prime_migration(settings.cgroup_root)
    record = create_container(store, settings, options, reporter)
    return record.id, launch(store, settings, record, detach=options.detach, primed=primed)
