"""The pure rules of a container's command that its runtime spec is built with
(engine/bundle.py): Docker's argv merge and the environment execve gets.
"""

from __future__ import annotations

from shocker.errors import UsageError

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Characters that make a single command argument a shell command line (the original ran
# every command through `sh -c`; we do so only when the argument needs a shell).
_SHELL_SYNTAX = frozenset(" \t\n;&|$`'\"<>()*?[]{}~\\")


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
