"""The start-critical commands' flag parser: Docker's syntax, argparse's results."""

from __future__ import annotations

import pytest

from shocker.cli.argparser import Parser
from shocker.cli.commands import exec as exec_command
from shocker.cli.commands import ps, run
from shocker.cli.flags import FlagParser
from shocker.cli.main import main
from shocker.errors import EXIT_ENGINE, UsageError

MODULES = {"run": run, "exec": exec_command, "ps": ps}


def parsers(name: str) -> tuple[FlagParser, Parser]:
    lean, full = FlagParser(prog=f"shocker {name}"), Parser(prog=f"shocker {name}")
    MODULES[name].add_arguments(lean)
    MODULES[name].add_arguments(full)
    return lean, full


@pytest.mark.parametrize(
    ("name", "argv"),
    [
        ("run", ["busybox"]),
        ("run", ["--rm", "--network", "none", "busybox", "true"]),
        ("run", ["-dit", "--name", "web", "-e", "A=1", "-eB=2", "busybox", "sh", "-c", "x"]),
        ("run", ["--name=web", "--env=A=1", "-v", "/a:/b:ro", "-p8080:80", "img", "ls", "-l"]),
        ("run", ["--pids-limit", "-1", "--memory", "512m", "--cpus", "1.5", "busybox"]),
        ("run", ["--net", "host", "--cap-add", "NET_ADMIN", "--cap-add", "SYS_TIME", "b"]),
        ("run", ["--security-opt", "seccomp=unconfined", "busybox", "--rm", "-it"]),
        ("run", ["-c", "512", "-m", "1g", "-w", "/tmp", "-u", "1000:1000", "-l", "k=v", "b"]),
        ("run", ["--", "busybox", "true"]),
        ("exec", ["ps-12345", "ls", "-la"]),
        ("exec", ["-it", "-e", "A=1", "-w", "/", "-u", "root", "web", "sh"]),
        ("exec", ["web"]),
        ("ps", []),
        ("ps", ["-aq"]),
        ("ps", ["-f", "status=running", "--filter", "name=web", "--format", "json"]),
    ],
)
def test_the_same_namespace_as_argparse(name: str, argv: list[str]) -> None:
    lean, full = parsers(name)
    assert vars(lean.parse_args(argv)) == vars(full.parse_args(argv))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--no-such-flag", "busybox"], "unknown flag: --no-such-flag"),
        (["-Z", "busybox"], "unknown flag: -Z"),
        (["--name"], "flag needs an argument: --name"),
        (["-e"], "flag needs an argument: -e"),
        (["--rm"], "the following arguments are required: image"),
        (["--rm=maybe", "busybox"], "invalid value 'maybe' for --rm"),
    ],
)
def test_errors_name_the_flag(argv: list[str], message: str) -> None:
    lean, _ = parsers("run")
    with pytest.raises(UsageError) as raised:
        lean.parse_args(argv)
    assert message in raised.value.message
    assert raised.value.message.startswith("shocker run: ")


def test_booleans_take_docker_s_explicit_values() -> None:
    lean, _ = parsers("run")
    assert lean.parse_args(["--rm=false", "-d", "busybox"]).rm is False
    assert lean.parse_args(["--rm=true", "busybox"]).rm is True


def test_a_value_is_the_next_word_whatever_it_looks_like() -> None:
    lean, _ = parsers("run")
    assert lean.parse_args(["--name", "-x", "busybox"]).name == "-x"
    assert lean.parse_args(["-e=A=1", "busybox"]).env == ["A=1"]


def test_ps_takes_no_positionals() -> None:
    lean, _ = parsers("ps")
    with pytest.raises(UsageError, match="unexpected argument 'extra'"):
        lean.parse_args(["extra"])


def test_defaults_are_not_shared_between_parses() -> None:
    lean, _ = parsers("run")
    lean.parse_args(["-e", "A=1", "busybox"])
    assert lean.parse_args(["busybox"]).env == []


def test_unsupported_declarations_are_refused() -> None:
    lean = FlagParser(prog="shocker x")
    with pytest.raises(TypeError):
        lean.add_argument("--count", action="count")
    with pytest.raises(TypeError):
        lean.add_argument("files", nargs="+")
    lean.add_argument("-q", "--quiet", action="store_true")
    with pytest.raises(TypeError):
        lean.add_argument("-q", action="store_true")


@pytest.mark.parametrize("name", ["run", "exec", "ps"])
def test_help_lists_every_option(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([name, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: shocker {name} [OPTIONS]")
    _, full = parsers(name)
    for action in full._actions:
        for option in action.option_strings:
            assert option in out


def test_a_bad_flag_through_main_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ps", "--bogus"]) == EXIT_ENGINE
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["shocker ps: unknown flag: --bogus (see 'shocker ps --help')"]
