"""One container of `shocker-runtime`: its bundle, state directory and cgroup, and the
lifecycle commands on it (runtime-spec runtime.md, "Operations")."""

from __future__ import annotations

import os

from shocker.errors import ShockerError
from shocker.ocicli.cgroups import (
    apply_device_rules,
    cgroup_binds,
    cgroup_limits,
    cgroup_location,
    device_rules,
    devices_dir,
    driver,
    limits_of,
    remove_devices,
)
from shocker.runtime import ocistate
from shocker.runtime.ocistate import RuntimeState, StateDir
from shocker.static import TYPE_CHECKING

# The OCI runtime spec (its parser and records: ~7 ms of CPU to import, python -I -S, median
# of 20 on this project's loaded 2-core machine) is imported by create, exec and update only:
# start, state, kill and delete read state.json and the world, never config.json. Paths
# are strings here for the same reason (pathlib: 9.2 ms, see shocker.runtime.ocistate).
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from shocker.cgroups.driver import Cgroup
    from shocker.oci import runtime_spec as rs

SECCOMP_CACHE = "/run/shocker-runtime/.seccomp"
# SIGKILL on every Linux: `signal` builds its enums at import (4.5 ms, python -I -S).
SIGKILL = 9


class NotRunning(ShockerError):
    """The container's init is not running (containerd matches "container not running")."""


def load_bundle(bundle: Path) -> tuple[rs.Spec, str]:
    """config.json of `bundle` and the rootfs as an absolute path; SpecError when either
    is wrong."""
    from pathlib import Path

    from shocker.oci import runtime_spec as rs

    try:
        text = (bundle / "config.json").read_bytes()
    except OSError as error:
        raise rs.SpecError(f"cannot read {bundle}/config.json: {error.strerror}") from None
    spec = rs.loads(text)
    rootfs = Path(spec.root.path)
    rootfs = rootfs if rootfs.is_absolute() else bundle / rootfs
    if not rootfs.is_dir():
        raise rs.SpecError(f"config.json: root.path {rootfs} is not a directory")
    return spec, str(rootfs)


def create(
    root: str,
    container_id: str,
    bundle: Path,
    *,
    pid_file: str | None,
    console_socket: str | None,
    preserve_fds: int = 0,
) -> Container:
    """Everything `create` does; on any failure nothing is left behind."""
    from shocker.runtime import ocicreate

    directory = StateDir(root, container_id)
    spec, rootfs = load_bundle(bundle)
    ocicreate.check_supported(spec)
    seccomp = seccomp_program(spec)
    if directory.exists():
        raise ShockerError(f"container with id exists: {container_id}")
    parent, name = cgroup_location(spec, container_id)
    ocistate.make_dir(directory)
    cgroups = driver()
    cgroup = None
    try:
        v1_devices = devices_dir(parent, name) is not None
        cgroup = cgroups.create(parent, name, cgroup_limits(spec, v1_devices=v1_devices))
        if v1_devices:
            apply_device_rules(parent, name, device_rules(spec))
        binds = cgroup_binds(cgroup, parent, name)

        def join(pid: int) -> None:
            assert cgroup is not None
            cgroup.add_process(pid)
            devices = devices_dir(parent, name)
            if devices is not None and os.path.isdir(devices):
                with open(os.path.join(devices, "cgroup.procs"), "w") as procs:
                    procs.write(str(pid))

        pid = ocicreate.create(
            spec,
            rootfs,
            directory,
            console_socket=console_socket,
            seccomp=seccomp,
            cgroup_binds=binds,
            on_created=join,
            preserve_fds=preserve_fds,
        )
        start_time = ocistate.process_start_time(pid)
        state = RuntimeState(
            id=container_id,
            pid=pid,
            pid_start_time=start_time or 0,
            bundle=str(bundle),
            rootfs=rootfs,
            created=ocistate.now_rfc3339(),
            cgroup_parent=parent,
            cgroup_name=name,
            annotations=spec.annotations,
        )
        directory.save(state)
        if pid_file:
            write_pid_file(pid_file, pid)
    except BaseException:
        if cgroup is not None:
            import contextlib

            with contextlib.suppress(ShockerError, OSError):
                cgroup.remove()
        remove_devices(parent, name)
        ocistate.remove_dir(directory)
        raise
    return Container(directory, state, spec)


def write_pid_file(path: str, pid: int) -> None:
    """Written whole or not at all: the shim reads it as soon as the command returns."""
    head, tail = os.path.split(path)
    temporary = os.path.join(head, f".{tail}.{os.getpid()}")
    with open(temporary, "w") as f:
        f.write(str(pid))
    os.replace(temporary, path)


def seccomp_program(spec: rs.Spec) -> bytes | None:
    """linux.seccomp compiled to BPF (cached), or None when the spec has none."""
    if spec.linux.seccomp is None:
        return None
    try:
        from shocker.runtime import seccomp as compiler
    except ImportError:
        raise ShockerError("linux.seccomp: this build cannot compile seccomp filters") from None
    from pathlib import Path

    program: bytes = compiler.program(spec.linux.seccomp, Path(SECCOMP_CACHE))
    return program


class Container:
    def __init__(self, directory: StateDir, state: RuntimeState, spec: rs.Spec | None) -> None:
        self.directory = directory
        self.state = state
        self._spec = spec

    @classmethod
    def load(cls, root: str, container_id: str) -> Container:
        directory = StateDir(root, container_id)
        return cls(directory, directory.load(), None)

    @property
    def spec(self) -> rs.Spec:
        """The bundle's config.json, read when first wanted (exec); a bare one when the
        bundle is gone or unreadable."""
        if self._spec is None:
            from pathlib import Path

            from shocker.oci import runtime_spec as rs

            try:
                self._spec, _ = load_bundle(Path(self.state.bundle))
            except ShockerError:
                self._spec = rs.Spec(root=rs.Root(path=self.state.rootfs))
        return self._spec

    def cgroup(self) -> Cgroup:
        cgroup: Cgroup = driver().open(self.state.cgroup_parent, self.state.cgroup_name)
        return cgroup

    def status(self) -> str:
        def frozen() -> bool:
            try:
                return self.cgroup().is_frozen()
            except ShockerError:
                return False

        return ocistate.status(self.directory, self.state, frozen)

    def state_json(self) -> dict[str, Any]:
        return ocistate.state_json(self.state, self.status())

    def start(self) -> None:
        current = self.status()
        if current == "stopped":
            raise ShockerError("cannot start a container that has stopped")
        if current != "created":
            raise ShockerError(f"cannot start an already {current} container")
        ocistate.start(self.directory, lambda: ocistate.is_alive(self.state))

    def kill(self, signum: int, *, every: bool) -> None:
        # --all also reaches what is left once the init is gone, as runc's does: containerd
        # kills a shared pid namespace's other processes that way when the init exits.
        current = self.status()
        if current == "stopped" and not every:
            raise NotRunning("container not running")
        try:
            for pid in self.pids() if every else [self.state.pid]:
                try:
                    os.kill(pid, signum)
                except ProcessLookupError:
                    if not every:
                        raise NotRunning("container not running") from None
        finally:
            # A frozen process dies of SIGKILL only once thawed (runc thaws it too).
            if current == "paused" and signum == SIGKILL:
                self.cgroup().thaw()

    def delete(self, *, force: bool) -> None:
        current = self.status()
        if current in ("running", "paused") and not force:
            raise ShockerError(
                f"cannot delete container {self.state.id} that is not stopped: {current}"
            )
        if current != "stopped":
            import time

            cgroup = self.cgroup()
            try:
                cgroup.kill_all()
            except ShockerError:
                pass
            try:
                os.kill(self.state.pid, SIGKILL)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 10
            while ocistate.is_alive(self.state) and time.monotonic() < deadline:
                time.sleep(0.005)
        try:
            self.cgroup().remove()
        except ShockerError:
            pass
        remove_devices(self.state.cgroup_parent, self.state.cgroup_name)
        ocistate.remove_dir(self.directory)

    def pids(self) -> list[int]:
        return self.cgroup().pids()

    def pause(self) -> None:
        if self.status() != "running":
            raise NotRunning("container not running")
        self.cgroup().freeze()

    def resume(self) -> None:
        if self.status() != "paused":
            raise ShockerError("container not paused")
        self.cgroup().thaw()

    def update(self, document: object) -> None:
        from shocker.oci import runtime_spec as rs

        resources = rs.parse_resources(document)
        driver().create(self.state.cgroup_parent, self.state.cgroup_name, limits_of(resources))
        apply_device_rules(self.state.cgroup_parent, self.state.cgroup_name, resources.devices)

    def wait(self) -> int:
        """`run` in the foreground: until the init exits (it is our child), its code."""
        from shocker.runtime import ociexec

        code = ociexec.wait(self.state.pid)
        self.delete(force=True)
        return code

    def exec(
        self,
        process_file: Path,
        *,
        detach: bool,
        pid_file: str | None,
        console_socket: str | None,
        tty: bool,
    ) -> int:
        from shocker.runtime import ocicreate, ociexec

        if self.status() not in ("running", "created"):
            raise NotRunning("container not running")
        try:
            document = __import__("json").loads(process_file.read_text())
        except (OSError, ValueError) as error:
            raise ShockerError(f"--process {process_file}: {error}") from None
        from shocker.oci import runtime_spec as rs

        process = rs.parse_process(document)
        if process.capabilities is None and self.spec.process is not None:
            # As runc's exec: without its own, the process gets the container's.
            process = _with_capabilities(process, self.spec.process.capabilities)
        if tty and not process.terminal:
            process = _with_terminal(process)
        console = ocicreate.connect(console_socket) if process.terminal else None
        if process.terminal and console is None:
            raise ShockerError("process.terminal is set: a --console-socket is required")
        try:
            child = ociexec.start_process(
                self.spec,
                self.state.pid,
                process,
                cgroup_procs=self.cgroup().procs_files(),
                console=console,
                seccomp=seccomp_program(self.spec),
            )
        finally:
            if console is not None:
                console.close()
        if pid_file:
            write_pid_file(pid_file, child)
        if detach:
            return 0
        return ociexec.wait(child)


def _with_capabilities(process: rs.Process, caps: rs.Capabilities | None) -> rs.Process:
    from shocker.record import replace

    return replace(process, capabilities=caps)


def _with_terminal(process: rs.Process) -> rs.Process:
    from shocker.record import replace

    return replace(process, terminal=True)
