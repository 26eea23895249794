"""Entrypoint/Cmd merge, the shell rule, and the environment execve gets."""

from __future__ import annotations

import pytest

from shocker.errors import UsageError
from shocker.runtime.command import DEFAULT_PATH, build_argv, final_env


@pytest.mark.parametrize(
    ("entrypoint", "cmd", "user", "expected"),
    [
        (None, ("sh",), [], ("sh",)),
        (None, ("sh",), ["cat", "/etc/issue"], ("cat", "/etc/issue")),
        (("/entry",), ("default",), [], ("/entry", "default")),
        (("/entry",), ("default",), ["mine"], ("/entry", "mine")),
        (("/entry",), None, [], ("/entry",)),
        (None, None, ["true"], ("true",)),
    ],
)
def test_user_command_replaces_cmd_and_follows_entrypoint(
    entrypoint: tuple[str, ...] | None,
    cmd: tuple[str, ...] | None,
    user: list[str],
    expected: tuple[str, ...],
) -> None:
    assert build_argv(entrypoint, cmd, user, shell_rule=True) == expected


@pytest.mark.parametrize(
    "argument",
    [
        "sleep 5 && ps aux",
        "echo hi; echo there",
        "ls | wc -l",
        "echo $HOME",
        "echo 'quoted'",
        'echo "quoted"',
        "cat < /etc/issue",
        "echo `date`",
    ],
)
def test_single_argument_with_shell_syntax_runs_through_sh(argument: str) -> None:
    assert build_argv(None, ("sh",), [argument], shell_rule=True) == ("/bin/sh", "-c", argument)


@pytest.mark.parametrize("argument", ["ls", "/bin/true", "--version", "a=b"])
def test_single_plain_word_runs_as_it_is(argument: str) -> None:
    assert build_argv(None, None, [argument], shell_rule=True) == (argument,)


def test_several_arguments_run_as_an_argv_even_with_shell_syntax() -> None:
    assert build_argv(None, None, ["echo", "a && b"], shell_rule=True) == ("echo", "a && b")


def test_shell_rule_off_keeps_the_single_argument() -> None:
    assert build_argv(None, None, ["sleep 5"], shell_rule=False) == ("sleep 5",)


def test_entrypoint_gets_a_single_argument_as_it_is() -> None:
    assert build_argv(("git",), None, ["log --oneline"], shell_rule=True) == (
        "git",
        "log --oneline",
    )


def test_no_command_at_all_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="No command specified"):
        build_argv(None, None, [], shell_rule=True)


def test_env_gets_path_hostname_home_and_term_for_a_tty() -> None:
    env = final_env(("A=1",), hostname="ps-12345", home="/root", tty=True)
    assert env == ["A=1", f"PATH={DEFAULT_PATH}", "HOSTNAME=ps-12345", "HOME=/root", "TERM=xterm"]


def test_env_keeps_values_the_spec_already_has() -> None:
    env = final_env(("PATH=/x", "HOME=/h", "TERM=vt100"), hostname="h", home="/root", tty=True)
    assert env == ["PATH=/x", "HOME=/h", "TERM=vt100", "HOSTNAME=h"]


def test_env_has_no_term_without_a_tty() -> None:
    assert not [e for e in final_env((), hostname="h", home="/", tty=False) if e.startswith("TERM")]
