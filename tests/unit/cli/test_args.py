"""Docker-style argument splitting: options before IMAGE, the rest is the command."""

from __future__ import annotations

import pytest

from shocker.cli.main import main, make_parser
from shocker.errors import EXIT_ENGINE


@pytest.mark.parametrize(
    ("argv", "image", "command"),
    [
        (["busybox"], "busybox", []),
        (["--rm", "-it", "busybox", "ls", "-la"], "busybox", ["ls", "-la"]),
        (["busybox", "--rm"], "busybox", ["--rm"]),
        (["-e", "A=1", "img-aa090", "sh", "-c", "echo -v"], "img-aa090", ["sh", "-c", "echo -v"]),
    ],
)
def test_run_options_stop_at_the_image(argv: list[str], image: str, command: list[str]) -> None:
    parser, _ = make_parser("run")
    args = parser.parse_args(argv)
    assert args.image == image
    assert args.command == command


def test_combined_short_flags_set_interactive_and_tty() -> None:
    args = make_parser("run")[0].parse_args(["-it", "busybox"])
    assert args.interactive
    assert args.tty


def test_repeated_flags_accumulate() -> None:
    args = make_parser("run")[0].parse_args(
        ["-v", "/a:/a", "-v", "data:/d", "-p", "8080:80", "-p", "53/udp", "busybox"]
    )
    assert args.volume == ["/a:/a", "data:/d"]
    assert args.publish == ["8080:80", "53/udp"]


def test_bad_flag_is_one_line_and_exit_125(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--no-such-flag", "busybox"]) == EXIT_ENGINE
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "--no-such-flag" in err


def test_unknown_command_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == EXIT_ENGINE
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    from shocker.cli.commands import COMMANDS

    assert main(["help"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert f"shocker {name}" in out or name == "help"


@pytest.mark.parametrize("name", ["pull", "run", "exec", "stop", "kill", "commit", "setup"])
def test_every_command_has_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([name, "--help"])
    assert done.value.code == 0
    assert f"shocker {name}" in capsys.readouterr().out
