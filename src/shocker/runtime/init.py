"""The container's pid 1 before its command: namespaces, the sync with the supervisor,
then the spec's confinement sequence and execve (runtime/sequence.py, as shocker-runtime's
init runs it). It fails closed: any error is reported on the sync socket and the command
never runs."""

from __future__ import annotations

import os

from shocker.errors import EXIT_ENGINE
from shocker.linux import sealedexec, syscalls
from shocker.runtime import process, rootfs, seccomp, sequence, sync, terminal
from shocker.runtime.failure import step
from shocker.runtime.namespaces import JOIN_ORDER, join_namespaces, root_owner
from shocker.runtime.plan import mount_plan
from shocker.runtime.sync import Channel
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import NoReturn

    from shocker.oci.runtime_spec import Spec
    from shocker.runtime.hostside import HostSide

# Made before "created" (the supervisor's caller moves a veth into the network namespace
# then); the cgroup namespace after it, once the caller has put us in the cgroup.
_BEFORE_CREATED = tuple(kind for kind in JOIN_ORDER if kind != "cgroup")


def enter(
    spec: Spec,
    host: HostSide,
    channel: Channel,
    stdio: tuple[int, int, int],
    size: bytes | None,
    userns: int = -1,
    netns: int = -1,
) -> NoReturn:
    """Become the container's command, or report why not and exit with Docker's code.

    userns: a descriptor of the container's user namespace (linux.uidMappings), or -1;
    netns: a new network namespace that one owns, or -1."""
    sync.become_or_report(
        channel, "init", lambda: _start(spec, host, channel, stdio, size, userns, netns)
    )


def _start(
    spec: Spec,
    host: HostSide,
    channel: Channel,
    stdio: tuple[int, int, int],
    size: bytes | None,
    userns: int,
    netns: int,
) -> None:
    process.reset_signals()
    # Before any container namespace: undumpable, and the sealed execve trampoline.
    trampoline = sealedexec.prepare()
    os.umask(0o022)
    for target, fd in enumerate(stdio):
        if fd != target:
            os.dup2(fd, target)
    join_namespaces(spec, None, _BEFORE_CREATED, netns)
    sync.send(channel, sync.CREATED)
    kind, _, _ = sync.receive(channel)
    if kind != sync.GO:
        os._exit(EXIT_ENGINE)  # the start was abandoned; nobody waits for a reason
    # The host's paths of our cgroups, read before a new cgroup namespace hides them:
    # /sys/fs/cgroup shows them (plan.cgroup_steps binds them there).
    cgroupns = spec.linux.namespace("cgroup")
    # Without a new one (--cgroupns host) too: a new mount there shows the host's whole tree.
    own_cgroups = rootfs.own_cgroups() if cgroupns is None or not cgroupns.path else None
    # Now that the launcher has put us in the container's cgroup: that becomes the root of
    # every hierarchy we see (cgroup_namespaces(7)).
    join_namespaces(spec, None, ("cgroup",))
    with step("seccomp profile"):
        # Read (or compiled) before pivot_root, while the host's cache is in view.
        profile = spec.linux.seccomp
        program = seccomp.program(profile, host.seccomp_cache) if profile else None
    init_program = -1
    if host.init_path:
        with step(f"read the init {host.init_path}"):
            # A sealed copy, taken while the host is in view: pid 1's /proc/1/exe is then
            # "/memfd:shocker-init", never a host file the container could rewrite.
            init_program = sealedexec.sealed_copy(host.init_path, "shocker-init")
    # With a user namespace every mount is still made by the host's root, and the root is
    # an idmapped bind: the image's files keep their owners inside, the store is unchanged.
    owner = root_owner(spec)
    idmapped = rootfs.IdMappedRoot(userns, owner) if owner is not None and userns >= 0 else None
    # /sys/fs/cgroup: the host's hierarchies, each at the container's cgroup in it.
    mounts = mount_plan(spec, cgroup_filesystems=rootfs.host_cgroup_filesystems(own_cgroups))
    steps = sequence.init_steps(
        spec,
        spec.root.path,
        mounts,
        program,
        userns if userns >= 0 else None,
        idmap=idmapped,
        init_program=init_program,
    )
    process.close_other_fds_on_exec()
    sequence.run(steps, {"terminal": lambda: attach_terminal(channel, size)}, trampoline)


def attach_terminal(channel: Channel, size: bytes | None) -> None:
    """A pty from the container's devpts as its terminal and /dev/console; the master
    goes to the supervisor, which relays it."""
    with step("create terminal"):
        master, slave, path = terminal.open_pty()
        terminal.set_window_size(master, size)
        console = "/dev/console"
        os.close(os.open(console, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
        syscalls.mount(path, console, None, syscalls.MS_BIND)
        sync.send(channel, sync.PTY, fds=(master,))
        os.close(master)
        terminal.make_controlling_terminal(slave)
