"""shocker-runtime's own parser gives argparse's answer for every form it takes, and leaves
every other form (help, abbreviations, bad values) to argparse."""

from __future__ import annotations

import pytest

from shocker.errors import ShockerError
from shocker.ocicli.args import parse
from shocker.ocicli.main import _parser

# What containerd's runc shim passes (go-runc), and the other forms runc documents.
TAKEN = [
    "--root /run/c --log /run/c/log.json --log-format json create --bundle /b "
    "--pid-file /b/init.pid --console-socket /s.sock id1",
    "--root /run/c --log /l --log-format json --systemd-cgroup create --bundle /b id1",
    "--root /run/c --log /l --log-format json start id1",
    "--root /run/c --log /l --log-format json delete id1",
    "--root /run/c --log /l --log-format json delete --force id1",
    "--root /run/c --log /l --log-format json kill id1 9",
    "--root /run/c --log /l --log-format json kill --all id1 SIGKILL",
    "--root /run/c state id1",
    "--root=/run/c --log-format=text --debug --rootless=false state id1",
    "--root /run/c exec --process /p.json --detach --pid-file /x.pid --console-socket /s id1",
    "--root /run/c exec -p /p.json -d -t --preserve-fds 2 id1",
    "--root /run/c ps --format json id1",
    "--root /run/c update --resources - id1",
    "--root /run/c run -b /b -d --preserve-fds 3 --no-pivot --no-new-keyring id1",
    "--root /run/c pause id1",
    "--root /run/c resume id1",
    "--criu /bin/criu features",
    "list",
    "kill id1",
    "delete -f id1",
]

LEFT = [
    "",
    "--help",
    "state --help",
    "-h",
    "--ro /x state id1",  # an abbreviation argparse accepts
    "kill -af id1",  # combined short flags
    "--root",  # a value missing
    "--root -x state id1",
    "--log-format yaml state id1",
    "ps --format xml id1",
    "state",
    "state a b",
    "kill id1 9 extra",
    "delete id1 --force",  # a flag after a positional
    "exec id1",  # --process is required
    "create --preserve-fds x id1",
    "nosuchcommand id1",
    "state --root /x id1",  # a global option after the command
    "--debug=true state id1",
    "state -- id1",
]


@pytest.mark.parametrize("line", TAKEN)
def test_taken_forms_parse_as_argparse_does(line: str) -> None:
    words = line.split()
    ours = parse(words)
    assert ours is not None
    assert vars(ours) == vars(_parser().parse_args(words))


@pytest.mark.parametrize("line", LEFT)
def test_other_forms_are_left_to_argparse(line: str) -> None:
    assert parse(line.split()) is None


def test_argparse_still_refuses_with_one_line() -> None:
    with pytest.raises(ShockerError, match="invalid choice: 'yaml'"):
        _parser().parse_args(["--log-format", "yaml", "state", "id1"])
