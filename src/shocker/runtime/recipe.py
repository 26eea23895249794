"""The confinement sequence (runtime/sequence.py) as the shell commands a reader could type:
one rendering per step kind, in the sequence's own order. Pure: nothing is run.

The commands run in a shell inside the container's new namespaces. Before pivot_root every
target is spelt under the rootfs's host path; after it, paths are the container's own and
the tools are the image's (`mount`, `umount`, `hostname` of its busybox or util-linux).
Where no command exists (seccomp, the sealed execve) a `#` line says what happens.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from shocker.linux.syscalls import (
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_RDONLY,
    MS_REC,
    MS_STRICTATIME,
)
from shocker.runtime import sequence as seq
from shocker.runtime.plan import (
    DeviceNode,
    Mask,
    MountStep,
    Remount,
    RemountReadonly,
    Step,
    Symlink,
)
from shocker.runtime.rootfs import expand_pattern
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

# mount(8) words for the flags a step carries, in the order mount(8) prints them.
_FLAG_WORDS = (
    (MS_RDONLY, "ro"),
    (MS_NOSUID, "nosuid"),
    (MS_NODEV, "nodev"),
    (MS_NOEXEC, "noexec"),
    (MS_STRICTATIME, "strictatime"),
    (1 << 21, "relatime"),
    (1 << 10, "noatime"),
    (1 << 11, "nodiratime"),
    (1 << 4, "sync"),
    (1 << 7, "dirsync"),
    (1 << 8, "nosymfollow"),
)

_ULIMIT_NAMES = {
    "RLIMIT_AS": "as",
    "RLIMIT_CORE": "core",
    "RLIMIT_CPU": "cpu",
    "RLIMIT_DATA": "data",
    "RLIMIT_FSIZE": "fsize",
    "RLIMIT_LOCKS": "locks",
    "RLIMIT_MEMLOCK": "memlock",
    "RLIMIT_MSGQUEUE": "msgqueue",
    "RLIMIT_NICE": "nice",
    "RLIMIT_NOFILE": "nofile",
    "RLIMIT_NPROC": "nproc",
    "RLIMIT_RSS": "rss",
    "RLIMIT_RTPRIO": "rtprio",
    "RLIMIT_RTTIME": "rttime",
    "RLIMIT_SIGPENDING": "sigpending",
    "RLIMIT_STACK": "stack",
}
_UNLIMITED = 2**64 - 1


def q(word: str) -> str:
    return shlex.quote(word)


def flag_words(flags: int) -> list[str]:
    return [word for bit, word in _FLAG_WORDS if flags & bit]


def render(
    steps: Sequence[seq.SequenceStep],
    *,
    seccomp_note: str = "",
    files: frozenset[str] = frozenset(),
) -> list[str]:
    """Every step as lines of shell; user, capabilities and no_new_privs gather into the
    one `setpriv` that execs the command. files: bind sources that are files though they
    do not exist yet (a bind onto a file needs a file to mount on)."""
    lines: list[str] = []
    setpriv: list[str] = []
    for item in steps:
        if isinstance(item, seq.Mounts):
            lines += _mounts(item, files)
        elif isinstance(item, seq.PivotRoot):
            lines += [
                "# pivot_root: the rootfs becomes /, the host's root is detached",
                f"cd {q(item.rootfs)}",
                "pivot_root . .",
                "mount --make-rslave .",
                "umount -l .",
                "cd /",
            ]
        elif isinstance(item, seq.WorkingDirectory):
            lines.append(f"mkdir -p {q(item.path)}")
        elif isinstance(item, seq.ReadonlyRoot):
            lines += ["# --read-only: the root itself (volumes and tmpfs stay writable)"]
            lines += ["mount -o remount,bind,ro /"]
        elif isinstance(item, seq.Hostname):
            lines.append(f"hostname {q(item.name)}")
        elif isinstance(item, seq.Sysctl):
            for key, value in item.settings:
                path = "/proc/sys/" + key.replace(".", "/")
                lines.append(f"echo {q(value)} > {q(path)}  # sysctl -w {key}={value}")
        elif isinstance(item, seq.HidePaths):
            lines += _hide(item)
        elif isinstance(item, seq.Rlimits):
            lines += _rlimits(item)
        elif isinstance(item, seq.SetUser):
            setpriv += _user(item)
        elif isinstance(item, seq.SetCapabilities):
            setpriv += _capabilities(item)
        elif isinstance(item, seq.NoNewPrivileges):
            setpriv.append("--no-new-privs")
        elif isinstance(item, seq.Barrier):
            lines += _barrier(item)
        elif isinstance(item, seq.LoadSeccomp):
            lines.append(
                "# seccomp: no command loads a filter; shocker loads the compiled BPF "
                "program here (just before execve; before the user changes when "
                "no_new_privs is off)" + (f" ({seccomp_note})" if seccomp_note else "")
            )
        elif isinstance(item, seq.Execute):
            lines += _execute(item, setpriv)
    return lines


def _mounts(item: seq.Mounts, files: frozenset[str]) -> list[str]:
    root = item.rootfs
    lines = [
        f"# mounts: nothing propagates back to the host; the rootfs bound onto itself "
        f"(pivot_root needs a mount point); each target is made under {root}",
        f"mount --make-{item.propagation} /",
        f"mount --rbind {q(root)} {q(root)}",
    ]
    for step in item.steps:
        lines += mount_step(root, step, files)
    return lines


def _under(root: str, path: str) -> str:
    return q(root.rstrip("/") + "/" + path.lstrip("/"))


def mount_step(root: str, step: Step, files: frozenset[str] = frozenset()) -> list[str]:
    """One filesystem step, its target spelt under the rootfs's host path."""
    if isinstance(step, MountStep):
        target = _under(root, step.target)
        if step.is_bind:
            source = Path(step.source)
            is_file = step.source in files or (source.exists() and not source.is_dir())
            option = "--rbind" if step.flags & MS_REC else "--bind"
            bind = f"mount {option} {q(step.source)} {target}"
            if not is_file:
                return [f"mkdir -p {target}", bind]
            parent = step.target.rstrip("/").rpartition("/")[0]
            made = [f"mkdir -p {_under(root, parent)}"] if parent else []
            return [*made, f"touch {target}", bind]
        words = flag_words(step.flags & ~(MS_BIND | MS_REC))
        if step.data:
            words.append(step.data)
        options = f" -o {q(','.join(words))}" if words else ""
        return [f"mkdir -p {target}", f"mount -t {step.fstype}{options} {q(step.source)} {target}"]
    if isinstance(step, RemountReadonly):
        if step.recursive:
            # util-linux 2.39+ says it so; mount_setattr(2) with AT_RECURSIVE does it.
            return [f"mount -o remount,bind,ro=recursive {_under(root, step.target)}"]
        return [f"mount -o remount,bind,ro {_under(root, step.target)}"]
    if isinstance(step, Remount):
        remount = ",".join(["remount", "bind", *flag_words(step.flags)])
        return [f"mount -o {remount} {_under(root, step.target)}"]
    if isinstance(step, DeviceNode):
        kind = "b" if step.is_block else "c"
        path = _under(root, step.path)
        return [f"mknod -m {step.mode:o} {path} {kind} {step.major} {step.minor}"]
    if isinstance(step, Symlink):
        return [f"ln -s {q(step.target)} {_under(root, step.path)}"]
    raise AssertionError(f"no rendering for {type(step).__name__}")


def _hide(item: seq.HidePaths) -> list[str]:
    """As rootfs.confine does it: the same kernel's /proc and /sys, so the host's paths
    tell which exist and which are directories."""
    lines = ["# masked paths (/dev/null or an empty read-only tmpfs), read-only paths"]
    for entry in item.steps:
        for path in expand_pattern(entry.path):
            if isinstance(entry, Mask):
                if Path(path).is_dir():
                    lines.append(f"mount -t tmpfs -o ro tmpfs {q(path)}")
                else:
                    lines.append(f"mount --bind /dev/null {q(path)}")
            else:
                lines += [f"mount --rbind {q(path)} {q(path)}"]
                lines += [f"mount -o remount,bind,ro {q(path)}"]
    return lines


def _rlimits(item: seq.Rlimits) -> list[str]:
    def value(limit: int) -> str:
        return "unlimited" if limit == _UNLIMITED else str(limit)

    options = [
        f"--{_ULIMIT_NAMES.get(limit.type, limit.type)}={value(limit.soft)}:{value(limit.hard)}"
        for limit in item.limits
    ]
    return [f"prlimit --pid $$ {' '.join(options)}"]


def _user(item: seq.SetUser) -> list[str]:
    groups = ",".join(str(g) for g in dict.fromkeys(item.groups))
    clear = f"--groups={groups}" if groups else "--clear-groups"
    return [f"--reuid={item.uid}", f"--regid={item.gid}", clear]


def _capability_list(names: frozenset[str]) -> str:
    if not names:
        return "-all"
    return "-all," + ",".join("+" + n.removeprefix("CAP_").lower() for n in sorted(names))


def _capabilities(item: seq.SetCapabilities) -> list[str]:
    return [
        f"--bounding-set={_capability_list(item.bounding)}",
        f"--inh-caps={_capability_list(item.inheritable)}",
        f"--ambient-caps={_capability_list(item.ambient)}",
    ]


def _barrier(item: seq.Barrier) -> list[str]:
    if item.name == "terminal":
        return ["# a pty from the container's /dev/pts becomes its stdio and /dev/console"]
    if item.name == "ready":
        return ["# ready: shocker records the container as running"]
    return [f"# {item.name}"]


def _execute(item: seq.Execute, setpriv: list[str]) -> list[str]:
    env = " ".join(q(e) for e in item.env)
    command = " ".join(q(a) for a in item.args)
    prefix = f"setpriv {' '.join(setpriv)} -- " if setpriv else ""
    return [
        "# execve: the command with exactly its environment (shocker's last execve goes "
        "through a tiny program in a sealed memfd, so no host binary is ever its /proc/PID/exe)",
        f"cd {q(item.cwd)}",
        f"exec {prefix}env -i {env} {command}".replace("  ", " "),
    ]
