"""`--sysctl`, `--ulimit` and `--tmpfs`: parsed and checked before any container exists."""

from __future__ import annotations

from shocker.errors import UsageError

# Sysctls that belong to a namespace of the container, as Docker allows them (moby
# opts/hostconfig validation): IPC ones, and net.* when the container has its own netns.
_IPC_SYSCTLS = frozenset(
    {
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    }
)
# setrlimit(2) resources by Docker's --ulimit names.
RLIMITS = {
    "cpu": 0,
    "fsize": 1,
    "data": 2,
    "stack": 3,
    "core": 4,
    "rss": 5,
    "nproc": 6,
    "nofile": 7,
    "memlock": 8,
    "as": 9,
    "locks": 10,
    "sigpending": 11,
    "msgqueue": 12,
    "nice": 13,
    "rtprio": 14,
    "rttime": 15,
}


def parse_sysctls(values: tuple[str, ...], network: str) -> list[tuple[str, str]]:
    result = []
    for value in values:
        key, sep, setting = value.partition("=")
        key = key.strip().replace("/", ".")
        if not sep or not key:
            raise UsageError(f"invalid --sysctl '{value}': use KEY=VALUE")
        namespaced = key in _IPC_SYSCTLS or key.startswith("fs.mqueue.")
        if key.startswith("net."):
            if network == "host" or network.startswith("container:"):
                raise UsageError(f"--sysctl {key} needs the container's own network namespace")
            namespaced = True
        if not namespaced or ".." in key:
            raise UsageError(
                f"--sysctl {key} is not namespaced: it would change the host",
                hint="only net.*, fs.mqueue.* and the kernel.msg*/sem/shm* IPC ones",
            )
        result.append((key, setting))
    return result


def parse_ulimits(values: tuple[str, ...]) -> list[tuple[int, int, int]]:
    """`--ulimit nofile=1024:2048` -> (resource, soft, hard); -1 is unlimited."""
    result = []
    for value in values:
        name, sep, limits = value.partition("=")
        soft_text, _, hard_text = limits.partition(":")
        if not sep or name not in RLIMITS:
            raise UsageError(
                f"invalid --ulimit '{value}'",
                hint=f"use NAME=SOFT[:HARD], NAME one of {', '.join(RLIMITS)}",
            )
        try:
            soft = int(soft_text)
            hard = int(hard_text) if hard_text else soft
        except ValueError:
            raise UsageError(f"invalid --ulimit '{value}': the limits must be numbers") from None
        if soft < -1 or hard < -1 or (hard != -1 and (soft == -1 or soft > hard)):
            raise UsageError(f"invalid --ulimit '{value}': the soft limit exceeds the hard one")
        result.append((RLIMITS[name], soft, hard))
    return result


def parse_tmpfs(values: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
    """`--tmpfs /run[:size=64m,mode=1777]` -> (path, options); Docker's defaults first."""
    result = []
    for value in values:
        path, _, options = value.partition(":")
        if not path.startswith("/"):
            raise UsageError(f"invalid --tmpfs '{value}': the path must be absolute")
        defaults = ["noexec", "nosuid", "nodev"]
        extra = []
        for option in (o for o in options.split(",") if o):
            if f"no{option}" in defaults:
                defaults.remove(f"no{option}")  # `exec`, `suid`, `dev` lift a default
            else:
                extra.append(option)
        result.append((path, (*defaults, *extra)))
    return result
