"""Free what a container holds outside its filesystem: cgroup, address, veth, port rules.

Idempotent, so that the supervisor on exit, `rm -f` after a crash, and a failed start can all
call it; each part is attempted even when another fails. What fails is never swallowed: it is
kept on the container's record (`inspect` shows `teardown_errors`) and said in one line on
stderr.
"""

from __future__ import annotations

from shocker.errors import ShockerError
from shocker.leancontext import suppress
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.settings import Settings
    from shocker.store.containers import ContainerRecord
    from shocker.store.store import Store


def teardown(store: Store, settings: Settings, container_id: str) -> list[str]:
    """Release everything; returns the failures as lines (empty when all went well)."""
    failures: list[str] = []
    runtime_failure = _delete_from_runtime(store, container_id)
    if runtime_failure:
        failures.append(f"runtime: {runtime_failure}")
    try:
        from shocker.cgroups import detect

        detect(settings.cgroup_root).open(settings.cgroup_parent, container_id).remove()
    except (ShockerError, OSError) as error:
        failures.append(f"cgroup: {error}")
    if _uses_bridge(store, container_id):
        try:
            from shocker.network import ipam
            from shocker.network.attach import detach
            from shocker.network.config import NetworkConfig
            from shocker.network.firewall import unpublish

            cfg = NetworkConfig.from_settings(settings, store.layout.network)
            unpublish(cfg, container_id)
            detach(cfg, container_id)
            ipam.release(cfg, container_id)
        except (ShockerError, OSError) as error:
            failures.append(f"network: {error}")
    return failures


def teardown_and_record(store: Store, settings: Settings, container_id: str) -> list[str]:
    """teardown, then its failures on the record (an empty list once all went well) and,
    when there are any, one warning line on stderr."""
    failures = teardown(store, settings, container_id)

    def keep(record: ContainerRecord) -> None:
        record.teardown_errors = failures

    # Removed meanwhile: then the warning is all that is left of it.
    with suppress(ShockerError):
        store.containers.update(container_id, keep)
    warn(container_id, failures)
    return failures


def warn(container_id: str, failures: list[str]) -> None:
    if failures:
        import sys

        print(
            f"warning: {container_id}: not everything was freed: {'; '.join(failures)}",
            file=sys.stderr,
        )


def _uses_bridge(store: Store, container_id: str) -> bool:
    try:
        return store.containers.get(container_id).config.network == "bridge"
    except ShockerError:
        return False


def _delete_from_runtime(store: Store, container_id: str) -> str | None:
    """With another OCI runtime: its `delete --force`, which frees its state and cgroup."""
    try:
        binary = store.containers.get(container_id).config.runtime
    except ShockerError:
        return None
    if not binary:
        return None
    from shocker.runtime.foreign import ForeignRuntime, delete

    directory = store.layout.container_dir(container_id)
    return delete(
        ForeignRuntime(
            binary=binary,
            bundle=str(directory),
            state_root=str(directory / "runtime"),
            id=container_id,
        )
    )
