"""`exec`: a new process in a running container's namespaces and cgroup, equally confined."""

from __future__ import annotations

from shocker.engine.status import is_running
from shocker.errors import Conflict, NotRunning
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.settings import Settings
    from shocker.store.store import Store


def exec_command(
    store: Store,
    settings: Settings,
    target: str,
    argv: list[str],
    *,
    env: tuple[str, ...],
    workdir: str | None,
    user: str | None,
    tty: bool,
    interactive: bool,
    privileged: bool,
    detach: bool = False,
) -> int:
    from shocker.cgroups import detect
    from shocker.cgroups.warmup import prime_migration
    from shocker.engine.bundle import rlimits
    from shocker.engine.create import merge_env
    from shocker.runtime.command import build_argv
    from shocker.runtime.exec import ExecSpec, exec_in

    primed = prime_migration(settings.cgroup_root)  # the join below then finds the lock warm
    record = store.containers.resolve(target)
    if not is_running(record) or record.pid is None:
        raise NotRunning(f"Container '{record.id}' exists but is not running")
    config = record.config
    cgroup = detect(settings.cgroup_root).open(settings.cgroup_parent, record.id)
    if record.paused or cgroup.is_frozen():
        # A frozen cgroup would freeze the new process too: it would hang, not run.
        raise Conflict(f"Container '{record.id}' is paused, unpause the container before exec")
    seccomp = None
    if config.seccomp:
        from shocker.engine.security import load_seccomp

        seccomp = load_seccomp(store.layout.container_dir(record.id))
    spec = ExecSpec(
        argv=build_argv(None, None, argv, shell_rule=True),
        env=tuple(merge_env(config.env, env, tty)),
        cwd=workdir or config.cwd or "/",
        user=user if user is not None else (config.user or ""),
        # Detached, nobody holds a terminal or stdin for it.
        tty=tty and not detach,
        interactive=interactive and not detach,
        capabilities=frozenset(config.capabilities),
        privileged=privileged or config.privileged,
        no_new_privileges=config.no_new_privileges,
        cgroup_procs=cgroup.procs_files(),
        detach=detach,
        seccomp=seccomp,
        seccomp_cache=store.layout.seccomp_cache,
        rlimits=rlimits(config.ulimits),
        userns=config.userns is not None,
    )
    primed()  # no other thread may be running when exec forks
    return exec_in(record.pid, spec)
