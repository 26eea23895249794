"""The container's pid 1 before its command: namespaces, the sync with the supervisor,
the filesystem, then the shared hardening steps and execve. It fails closed: any error is
reported on the sync socket and the command never runs."""

from __future__ import annotations

import os
from pathlib import Path

from shocker.errors import EXIT_ENGINE
from shocker.linux import idmap, sealedexec, syscalls

# The spec's records and the executor on the start path, the price of one typed sequence:
# `run --rm --network none` 63.0 ms instead of 62.6 (wall, median) and 58.0 ms of CPU
# instead of 56.1 (mean), 150 runs interleaved with the tree before.
from shocker.oci.runtime_spec import Capabilities, Process, User
from shocker.runtime import capabilities, process, rootfs, seccomp, sequence, sync, terminal
from shocker.runtime.failure import step
from shocker.runtime.plan import confinement_steps, rootfs_steps
from shocker.runtime.spec import ContainerSpec, final_env
from shocker.runtime.sync import Channel
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import NoReturn

    from shocker.runtime.users import Identity


def enter(
    spec: ContainerSpec,
    channel: Channel,
    stdio: tuple[int, int, int],
    size: bytes | None,
    userns: int = -1,
    netns: int = -1,
) -> NoReturn:
    """Become the container's command, or report why not and exit with Docker's code.

    userns: a descriptor of the container's user namespace (spec.userns), or -1; netns: a
    new network namespace that one owns, or -1."""
    sync.become_or_report(
        channel, "init", lambda: _start(spec, channel, stdio, size, userns, netns)
    )


def _start(
    spec: ContainerSpec,
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
    create_namespaces(spec.network, netns)
    for key, value in spec.sysctls:
        # /proc/sys answers for the writer's namespaces: these are the container's own.
        path = "/proc/sys/" + key.replace(".", "/")
        with step(f"sysctl {key}"), open(path, "w") as f:
            f.write(value)
    sync.send(channel, sync.CREATED)
    kind, _, _ = sync.receive(channel)
    if kind != sync.GO:
        os._exit(EXIT_ENGINE)  # the start was abandoned; nobody waits for a reason
    if spec.cgroupns == "private":
        with step("create cgroup namespace"):
            # Now that the launcher has put us in the container's cgroup: that becomes the
            # root of every hierarchy we see (cgroup_namespaces(7)).
            syscalls.unshare(syscalls.CLONE_NEWCGROUP)
    root = str(spec.rootfs)
    with step("seccomp profile"):
        # Read (or compiled) before pivot_root, while the host's cache is in view.
        program = seccomp.program(spec.seccomp, spec.seccomp_cache) if spec.seccomp else None
    init_program = -1
    if spec.init_path:
        with step(f"read the init {spec.init_path}"):
            # A sealed copy, taken while the host is in view: pid 1's /proc/1/exe is then
            # "/memfd:shocker-init", never a host file the container could rewrite.
            init_program = sealedexec.sealed_copy(spec.init_path, "shocker-init")
    devices = rootfs.host_devices() if spec.privileged else ()
    # With a user namespace every mount is still made by the host's root, and the root is
    # an idmapped bind: the image's files keep their owners inside, the store is unchanged.
    idmapped = None
    owner = None
    if spec.userns is not None:
        owner = (spec.userns.uid, spec.userns.gid)
        idmapped = rootfs.IdMappedRoot(userns, owner)
    rootfs.prepare(
        root, rootfs_steps(spec, devices, rootfs.host_cgroup_filesystems()), idmap=idmapped
    )
    rootfs.switch_root(root)
    # Resolved against the container's own /etc/passwd and /etc/group, now its root.
    identity = process.read_identity(spec.user)
    with step(f"create working directory {spec.cwd}"):
        # Docker creates a missing WORKDIR (as root, before the user switch and before the
        # root turns read-only).
        make_directory(spec.cwd, owner)
    steps = confinement(spec, identity, program, userns if userns >= 0 else None, init_program)
    process.close_other_fds_on_exec()
    sequence.run(steps, {"terminal": lambda: attach_terminal(channel, size)}, trampoline)


def confinement(
    spec: ContainerSpec,
    identity: Identity,
    seccomp_program: bytes | None,
    userns: int | None,
    init_program: int = -1,
) -> list[sequence.SequenceStep]:
    """Pure: what follows pivot_root, as the one executor runs it (the same steps as
    sequence.init_steps gives shocker-runtime's init and `run --explain`). The user
    namespace is joined last, once every mount and limit is set: from there on the
    container's root has capabilities only in its own user namespace."""
    names = capabilities.ALL_CAPABILITIES if spec.privileged else spec.capabilities
    command = Process(
        args=spec.argv,
        env=tuple(final_env(spec.env, hostname=spec.hostname, home=identity.home, tty=spec.tty)),
        cwd=spec.cwd,
        user=User(uid=identity.uid, gid=identity.gid, additional_gids=identity.groups[1:]),
        terminal=spec.tty,
        capabilities=Capabilities.same(tuple(sorted(names))),
        rlimits=spec.rlimits,
        no_new_privileges=spec.no_new_privileges,
    )
    return [
        *sequence.root_steps(spec.readonly_root, spec.hostname, (), confinement_steps(spec)),
        *sequence.process_steps(command, seccomp_program, userns, init_program),
    ]


def make_directory(path: str, owner: tuple[int, int] | None) -> None:
    """mkdir -p, as container root where the root is idmapped."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        if not idmap.retry_as(owner, error):
            raise
        assert owner is not None
        with idmap.filesystem_ids(*owner):
            Path(path).mkdir(parents=True, exist_ok=True)


def create_namespaces(network: str, netns: int = -1) -> None:
    """Fresh mount, UTS and IPC namespaces; the network one fresh (loopback up), the
    host's ("host"), or joined from a path such as /proc/<pid>/ns/net.

    netns: with a user namespace of its own, the container's new network namespace, made
    with it and owned by it (idmap.user_and_network_namespaces), is joined rather than
    made here: one made here would belong to the host's user namespace, where container
    root holds no CAP_NET_RAW (no ping) nor CAP_NET_ADMIN."""
    flags = syscalls.CLONE_NEWNS | syscalls.CLONE_NEWUTS | syscalls.CLONE_NEWIPC
    if netns >= 0:
        with step("join network namespace"):
            syscalls.setns(netns, syscalls.CLONE_NEWNET)
            os.close(netns)
    elif network not in ("new", "host"):
        with step(f"join network namespace {network}"):
            fd = os.open(network, os.O_RDONLY | os.O_CLOEXEC)
            try:
                syscalls.setns(fd, syscalls.CLONE_NEWNET)
            finally:
                os.close(fd)
    elif network == "new":
        flags |= syscalls.CLONE_NEWNET
    with step("create namespaces"):
        syscalls.unshare(flags)
    if network == "new":
        with step("bring up lo"):
            syscalls.set_link_up("lo")
        # As Docker 20.10+: any user may bind port 80 in the container's own netns.
        path = "/proc/sys/net/ipv4/ip_unprivileged_port_start"
        with step("set net.ipv4.ip_unprivileged_port_start"), open(path, "w") as f:
            f.write("0")


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
