"""A RUN step: a container on the step's filesystem, confined as `shocker run` confines one
(namespaces, capabilities, seccomp, device cgroup, limits; the bridge network unless
--network none|host), tied to the build so that it never outlives it."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shocker.errors import BuildError, ShockerError
from shocker.settings import Settings
from shocker.store.store import Store

STEP_LABEL = "shocker.build.step"
BUILDER_LABEL = "shocker.build.pid"  # the build that made it: gone means the step is orphaned


@contextlib.contextmanager
def output_to_stdout() -> Iterator[None]:
    """A step's stderr joins stdout while it runs: the build's stderr is kept for the one
    line that says why a build failed."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(1, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def run_step(
    store: Store,
    settings: Settings,
    *,
    rootfs: Path,
    config: dict[str, Any],
    argv: list[str],
    env: list[str],
    network: str,
    where: str,
) -> tuple[Path, str]:
    """Run `argv` in a container made from `rootfs`; the container's filesystem and id once
    it exited with 0 (the caller takes its layer, then calls `remove_step`). BuildError when
    it fails to start or exits non-zero; the container is removed then."""
    from shocker.engine.create import allocate_ids, container_config, now
    from shocker.engine.launch import launch
    from shocker.engine.options import RunOptions
    from shocker.record import replace
    from shocker.store.containers import ContainerRecord
    from shocker.store.images import ImageRecord

    section = config.get("config") or {}
    image = ImageRecord(
        id="build",
        repository_digest=None,
        config={**config, "config": {**section, "Entrypoint": None, "Cmd": None}},
        layers=[],
        created=now(),
        source="build",
    )
    options = RunOptions(
        image="build",
        command=tuple(argv),
        env=tuple(env),
        workdir=section.get("WorkingDir") or "/",
        user=section.get("User") or "",
        network=network,
        remove=False,
    )
    # No volumes for a step (the image's VOLUMEs included): what RUN writes under one stays
    # in the step's layer, as BuildKit keeps it, and no anonymous volume is left behind.
    container_cfg, seccomp = container_config(store, settings, image, options, make_volumes=False)
    container_cfg = replace(container_cfg, argv=tuple(argv))  # the step's command, no shell rule

    def make_record(container_id: str) -> ContainerRecord:
        own = replace(container_cfg, hostname=container_id)
        if own.userns_size is not None:
            # As `run`: SHOCKER_USERNS=auto confines build steps in a user namespace too.
            own = replace(own, userns=allocate_ids(store, settings, container_id, own.userns_size))
        return ContainerRecord(
            id=container_id,
            name=None,
            image_id="",
            image="(build step)",
            command=list(argv),
            created=now(),
            config=own,
            labels={STEP_LABEL: where, BUILDER_LABEL: str(os.getpid())},
        )

    record = store.containers.create(image, None, make_record, rootfs_from=rootfs)
    try:
        if seccomp is not None:
            from shocker.engine.security import save_seccomp

            save_seccomp(store.layout.container_dir(record.id), seccomp)
        with output_to_stdout():
            code = launch(store, settings, record, detach=False, tied=True)
    except ShockerError as error:
        remove_step(store, record.id)
        raise BuildError(f"{where}: {error.message}") from None
    except BaseException:
        remove_step(store, record.id)
        raise
    if code != 0:
        remove_step(store, record.id)
        if code == 130:
            raise BuildError(f"{where}: interrupted")
        raise BuildError(f"{where}: the command returned a non-zero code: {code}")
    return store.layout.container_rootfs(record.id), record.id


def remove_step(store: Store, container_id: str) -> None:
    store.containers.remove(container_id)


def sweep_orphans(store: Store) -> None:
    """Remove step containers whose build died before their supervisor started (a kill -9
    between creating one and launching it); once launched, a step dies with its build."""
    from shocker.engine.status import is_running

    for record in store.containers.list():
        pid = record.labels.get(BUILDER_LABEL, "")
        if not pid.isdigit() or _alive(int(pid)) or is_running(record):
            continue
        store.containers.remove(record.id)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
