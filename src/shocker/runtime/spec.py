"""ContainerSpec: everything the runtime needs to start one container (a mini OCI config),
and the pure rules that build its argv and final environment.
"""

from __future__ import annotations

import signal
from pathlib import Path

from shocker.errors import UsageError
from shocker.oci.runtime_spec import Rlimit
from shocker.oci.seccomp import Seccomp
from shocker.record import record
from shocker.runtime.capabilities import DEFAULT_CAPABILITIES
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.runtime.foreign import ForeignRuntime

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Docker's masked and read-only paths (moby oci/defaults.go); a '*' is expanded at mount time.
DEFAULT_MASKED_PATHS = (
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
    "/sys/devices/system/cpu/cpu*/thermal_throttle",
)
DEFAULT_READONLY_PATHS = (
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
)

# Characters that make a single command argument a shell command line (the original ran
# every command through `sh -c`; we do so only when the argument needs a shell).
_SHELL_SYNTAX = frozenset(" \t\n;&|$`'\"<>()*?[]{}~\\")


@record(frozen=True)
class Mount:
    source: str
    destination: str  # inside the container
    type: str = "bind"
    readonly: bool = False
    options: tuple[str, ...] = ()


@record(frozen=True)
class DeviceNode:
    """A device node made in the container's /dev (the defaults, `--device`)."""

    path: str
    major: int
    minor: int
    is_block: bool = False
    mode: int = 0o666


@record(frozen=True)
class UserNamespace:
    """Container ids 0..size-1 are host ids uid.. and gid.. (one range each)."""

    uid: int
    gid: int
    size: int

    def uid_map(self) -> tuple[tuple[int, int, int], ...]:
        return ((0, self.uid, self.size),)

    def gid_map(self) -> tuple[tuple[int, int, int], ...]:
        return ((0, self.gid, self.size),)


@record(frozen=True, kw_only=True)
class ContainerSpec:
    id: str
    rootfs: Path  # a directory (a btrfs subvolume; not a mount point)
    argv: tuple[str, ...]
    env: tuple[str, ...]  # KEY=VALUE
    cwd: str = "/"
    user: str = ""  # resolved against the container's /etc/passwd and /etc/group
    hostname: str = ""
    tty: bool = False
    interactive: bool = False
    mounts: tuple[Mount, ...] = ()
    devices: tuple[DeviceNode, ...] = ()  # besides the defaults; the device cgroup allows them
    network: str = "new"  # "new", "host", or a netns path to join
    cgroupns: str = "private"  # or "host"
    capabilities: frozenset[str] = DEFAULT_CAPABILITIES
    privileged: bool = False
    no_new_privileges: bool = True
    masked_paths: tuple[str, ...] = DEFAULT_MASKED_PATHS
    readonly_paths: tuple[str, ...] = DEFAULT_READONLY_PATHS
    rlimits: tuple[Rlimit, ...] = ()
    sysctls: tuple[tuple[str, str], ...] = ()  # namespaced ones only
    readonly_root: bool = False
    seccomp: Seccomp | None = None  # None: unconfined
    seccomp_cache: Path | None = None  # compiled programs, reused across starts
    log_path: Path
    log_driver: str = "raw"  # "json-file", "none", or "raw" (bytes as written)
    log_max_size: int | None = None  # json-file: rotate past this many bytes
    log_max_files: int = 1  # json-file: files kept, the current one included
    # The supervisor holds an flock on it while the container runs (its liveness, as any
    # process that sees the store can tell).
    liveness_lock: Path | None = None
    stop_signal: int = signal.SIGTERM
    # `--init`: a static init on the host (tini-static) run as pid 1 from a sealed copy.
    init_path: str | None = None
    # Another OCI runtime runs the container from its bundle instead of shocker's init.
    foreign: ForeignRuntime | None = None
    # Its own user namespace (--userns=auto), its root idmapped; None: the host's.
    userns: UserNamespace | None = None


def needs_shell(argument: str) -> bool:
    return any(c in _SHELL_SYNTAX for c in argument)


def build_argv(
    entrypoint: tuple[str, ...] | list[str] | None,
    cmd: tuple[str, ...] | list[str] | None,
    user_command: list[str],
    shell_rule: bool,
) -> tuple[str, ...]:
    """Docker's merge: Entrypoint + (the user's command, else Cmd).

    With shell_rule and no Entrypoint, a single user argument with shell syntax runs as
    `/bin/sh -c ARG` (the original's behaviour); with an Entrypoint it stays one argument,
    as Docker passes it. Raises UsageError when there is no command at all.
    """
    command: tuple[str, ...] = tuple(user_command) if user_command else tuple(cmd or ())
    if shell_rule and not entrypoint and len(user_command) == 1 and needs_shell(user_command[0]):
        command = ("/bin/sh", "-c", user_command[0])
    argv = (*(entrypoint or ()), *command)
    if not argv:
        raise UsageError("No command specified", hint="give a command after the image name")
    return argv


def final_env(env: tuple[str, ...], *, hostname: str, home: str, tty: bool) -> list[str]:
    """The environment execve gets: the spec's, plus PATH, HOSTNAME, HOME and TERM (with a
    terminal) when absent, as Docker adds them."""
    keys = {item.partition("=")[0] for item in env}
    result = list(env)
    defaults = [("PATH", DEFAULT_PATH), ("HOSTNAME", hostname), ("HOME", home)]
    if tty:
        defaults.append(("TERM", "xterm"))
    for key, value in defaults:
        if key not in keys and value:
            result.append(f"{key}={value}")
    return result
