"""One container of `shocker-runtime`: its bundle, state directory and cgroup, and the
lifecycle commands on it (runtime-spec runtime.md, "Operations")."""

from __future__ import annotations

import os

from shocker.errors import ShockerError
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
    from shocker.cgroups.limits import Limits
    from shocker.oci import runtime_spec as rs

CGROUP_ROOT = "/sys/fs/cgroup"
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


def cgroup_location(spec: rs.Spec, container_id: str) -> tuple[str, str]:
    """(parent, name) under each hierarchy: cgroupsPath "/a/b/c" is <hierarchy>/a/b/c on
    v1 and /sys/fs/cgroup/a/b/c on v2; relative paths are taken from the root too."""
    path = spec.linux.cgroups_path
    if ":" in path and not path.startswith("/"):
        raise ShockerError(f"cgroupsPath {path!r}: systemd slices are not supported")
    parts = [p for p in path.split("/") if p] or ["shocker-runtime", container_id]
    return "/".join(parts[:-1]), parts[-1]


def limits_of(resources: rs.Resources | None) -> Limits:
    from shocker.cgroups.limits import Limits

    if resources is None:
        return Limits()
    memory, cpu, pids = resources.memory, resources.cpu, resources.pids
    if cpu is not None and (cpu.cpus or cpu.mems):
        raise ShockerError("linux.resources.cpu: cpus/mems (cpuset) are not supported")
    if memory is not None:
        _refuse_unhonoured(memory)
    cores = None
    if cpu is not None and cpu.quota is not None and cpu.quota > 0:
        cores = cpu.quota / (cpu.period or 100_000)
    return Limits(
        memory_bytes=memory.limit if memory and memory.limit and memory.limit > 0 else None,
        memory_swap_bytes=memory.swap if memory and memory.swap else None,
        cpu_shares=cpu.shares if cpu and cpu.shares else None,
        cpu_quota_cores=cores,
        cpu_period_us=cpu.period if cpu and cores is not None and cpu.period else None,
        pids_max=pids.limit if pids and pids.limit > 0 else None,
    )


def _refuse_unhonoured(memory: rs.Memory) -> None:
    asked = {
        "reservation": memory.reservation is not None,
        "swappiness": memory.swappiness is not None,
        "disableOOMKiller": bool(memory.disable_oom_killer),
    }
    for name, given in asked.items():
        if given:
            raise ShockerError(f"linux.resources.memory.{name} is not supported by this runtime")


def _driver() -> Any:
    from pathlib import Path

    from shocker.cgroups import detect

    return detect(Path(CGROUP_ROOT))


def devices_dir(parent: str, name: str) -> str | None:
    """The container's directory in the v1 devices hierarchy (None on v2)."""
    base = os.path.join(CGROUP_ROOT, "devices")
    if not os.path.isdir(base):
        return None
    return os.path.join(base, parent, name) if parent else os.path.join(base, name)


# What runc allows after the spec's own rules: the default devices every container gets
# (runtime-spec config-linux.md), the console and ptys, and mknod of any node.
ALWAYS_ALLOWED: tuple[tuple[str, int | None, int | None, str], ...] = (
    ("c", None, None, "m"),
    ("b", None, None, "m"),
    ("c", 1, 3, "rwm"),
    ("c", 1, 5, "rwm"),
    ("c", 1, 7, "rwm"),
    ("c", 1, 8, "rwm"),
    ("c", 1, 9, "rwm"),
    ("c", 5, 0, "rwm"),
    ("c", 5, 1, "rwm"),
    ("c", 5, 2, "rwm"),
    ("c", 136, None, "rwm"),
)


def device_rules(spec: rs.Spec) -> tuple[rs.DeviceRule, ...]:
    """Deny all, the spec's rules, then the always-allowed ones and its linux.devices
    nodes: as runc, a spec without rules gets only those, not every device."""
    from shocker.oci import runtime_spec as rs

    resources = spec.linux.resources
    rules = resources.devices if resources is not None else ()
    always = tuple(
        rs.DeviceRule(allow=True, type=kind, major=major, minor=minor, access=access)
        for kind, major, minor, access in ALWAYS_ALLOWED
    )
    nodes = tuple(
        rs.DeviceRule(allow=True, type=d.type, major=d.major, minor=d.minor, access="rwm")
        for d in spec.linux.devices
    )
    return (rs.DeviceRule(allow=False), *rules, *always, *nodes)


def cgroup_limits(spec: rs.Spec, *, v1_devices: bool) -> Limits:
    """The spec's limits for the cgroup driver. Without a v1 devices hierarchy (v2) the
    device rules go with them, for the driver's BPF_PROG_TYPE_CGROUP_DEVICE program; on v1
    apply_device_rules writes them."""
    limits = limits_of(spec.linux.resources)
    if v1_devices:
        return limits
    from shocker.cgroups.devices import DeviceRule
    from shocker.record import replace

    rules = tuple(
        DeviceRule(allow=r.allow, type=r.type, major=r.major, minor=r.minor, access=r.access)
        for r in device_rules(spec)
    )
    return replace(limits, devices=rules)


def apply_device_rules(parent: str, name: str, rules: tuple[rs.DeviceRule, ...]) -> None:
    """Device rules in order: v1 devices.deny/devices.allow lines (on v2 they are a BPF
    program, see cgroup_limits)."""
    if not rules:
        return
    directory = devices_dir(parent, name)
    if directory is None:
        raise ShockerError("linux.resources.devices: no v1 devices hierarchy to enforce them")
    try:
        os.makedirs(directory, exist_ok=True)
        for rule in rules:
            major = "*" if rule.major is None else str(rule.major)
            minor = "*" if rule.minor is None else str(rule.minor)
            line = "a" if rule.type == "a" else f"{rule.type} {major}:{minor} {rule.access}"
            leaf = "devices.allow" if rule.allow else "devices.deny"
            with open(os.path.join(directory, leaf), "w") as f:
                f.write(line)
    except OSError as error:
        raise ShockerError(f"cgroup devices: {error.filename}: {error.strerror}") from None


def cgroup_binds(cgroup: Cgroup, parent: str, name: str) -> list[tuple[str, str]]:
    """For a "cgroup" mount: (container path, host directory) of the container's own
    cgroup in every hierarchy it has one in (v2: the one directory)."""
    from pathlib import Path

    top = Path(CGROUP_ROOT)
    if (top / "cgroup.controllers").exists():
        return [("/sys/fs/cgroup", str(top / parent / name))]
    binds = []
    for entry in sorted(top.iterdir()):
        if entry.is_symlink() or not entry.is_dir():
            continue
        own = entry / parent / name
        if own.is_dir():
            binds.append((f"/sys/fs/cgroup/{entry.name}", str(own)))
    return binds


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
    driver = _driver()
    cgroup = None
    try:
        v1_devices = devices_dir(parent, name) is not None
        cgroup = driver.create(parent, name, cgroup_limits(spec, v1_devices=v1_devices))
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
        _remove_devices(parent, name)
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


def _remove_devices(parent: str, name: str) -> None:
    directory = devices_dir(parent, name)
    if directory is not None:
        try:
            os.rmdir(directory)
        except OSError:
            pass


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
        cgroup: Cgroup = _driver().open(self.state.cgroup_parent, self.state.cgroup_name)
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
        _remove_devices(self.state.cgroup_parent, self.state.cgroup_name)
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
        _driver().create(self.state.cgroup_parent, self.state.cgroup_name, limits_of(resources))
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
