"""A runtime spec's namespaces, entered by a container's init (shocker's own and
shocker-runtime's) and by `exec`: the user namespace made with its mappings, the others
joined by path or created."""

from __future__ import annotations

import os

from shocker.linux import syscalls
from shocker.runtime.failure import step
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from shocker.linux.idmap import Mapping
    from shocker.oci.runtime_spec import IdMapping, Spec

NAMESPACE_FLAGS = {
    "pid": syscalls.CLONE_NEWPID,
    "network": syscalls.CLONE_NEWNET,
    "mount": syscalls.CLONE_NEWNS,
    "ipc": syscalls.CLONE_NEWIPC,
    "uts": syscalls.CLONE_NEWUTS,
    "user": syscalls.CLONE_NEWUSER,
    "cgroup": syscalls.CLONE_NEWCGROUP,
}
# The order nsenter(1) and runc join in; mount last (the others are opened by host paths),
# cgroup after the cgroup was joined.
JOIN_ORDER = ("ipc", "uts", "network", "cgroup", "mount")
_PROC_NAMES = {"ipc": "ipc", "uts": "uts", "network": "net", "cgroup": "cgroup", "mount": "mnt"}


def join_namespaces(
    spec: Spec, pid: int | None, kinds: Sequence[str] = JOIN_ORDER, netns: int = -1
) -> None:
    """The spec's namespaces of `kinds` (pid is entered by whoever forks): join those given
    by path (or, for exec, those of container `pid`), then create the rest; lo comes up in
    a new netns.

    netns: a new network namespace made beforehand (one owned by the container's user
    namespace, see idmap.user_and_network_namespaces), joined in place of a new one and
    closed."""
    create = 0
    fresh_network = False
    for kind in kinds:
        namespace = spec.linux.namespace(kind)
        if namespace is None:
            continue
        if kind == "network" and netns >= 0 and not namespace.path:
            with step("join network namespace"):
                syscalls.setns(netns, syscalls.CLONE_NEWNET)
                os.close(netns)
            fresh_network = True
            continue
        path = namespace.path or (f"/proc/{pid}/ns/{_PROC_NAMES[kind]}" if pid else "")
        if path:
            with step(f"join {kind} namespace {path}"):
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    syscalls.setns(fd, NAMESPACE_FLAGS[kind])
                finally:
                    os.close(fd)
        else:
            create |= NAMESPACE_FLAGS[kind]
    if create:
        with step("create namespaces"):
            syscalls.unshare(create)
    if fresh_network or create & syscalls.CLONE_NEWNET:
        with step("bring up lo"):
            syscalls.set_link_up("lo")


def mappings(spec: Spec) -> tuple[list[Mapping], list[Mapping]]:
    """linux.uidMappings and gidMappings as idmap's lines."""

    def lines(items: Sequence[IdMapping]) -> list[Mapping]:
        return [(m.container_id, m.host_id, m.size) for m in items]

    return lines(spec.linux.uid_mappings), lines(spec.linux.gid_mappings)


def root_owner(spec: Spec) -> tuple[int, int] | None:
    """The host uid and gid of container root, with a user namespace; None without."""
    if spec.linux.namespace("user") is None:
        return None
    uids, gids = mappings(spec)
    uid = next((host for inside, host, _ in uids if inside == 0), None)
    gid = next((host for inside, host, _ in gids if inside == 0), None)
    if uid is None or gid is None:
        return None
    return uid, gid


def new_user_namespace(spec: Spec) -> tuple[int, int]:
    """shocker's own runtime: the container's user namespace made with its mappings and,
    with a new network namespace, that too, owned by it (one the init made would belong
    to the host's user namespace, where container root holds no CAP_NET_RAW, so no ping,
    nor CAP_NET_ADMIN); join_namespaces takes it as `netns`. (-1, -1) without a user
    namespace."""
    if spec.linux.namespace("user") is None:
        return -1, -1
    from shocker.linux import idmap

    network = spec.linux.namespace("network")
    with step("create user namespace"):
        if network is not None and not network.path:
            return idmap.user_and_network_namespaces(*mappings(spec))
        return idmap.user_namespace(*mappings(spec)), -1


def user_namespace(spec: Spec, pid: int | None) -> int | None:
    """A descriptor of the container's user namespace: made with the spec's mappings, or
    the one at its path, or (exec, `pid` given) that of the container's init."""
    namespace = spec.linux.namespace("user")
    if namespace is None:
        return None
    from shocker.linux import idmap

    path = namespace.path or (f"/proc/{pid}/ns/user" if pid else "")
    if path:
        with step(f"open user namespace {path}"):
            return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    with step("create user namespace"):
        return idmap.user_namespace(*mappings(spec))
