"""`shocker-runtime`'s command line: one table of runc's global options, commands and their
flags, read by a small parser for the forms that containerd's shim passes, and by argparse
(shocker.ocicli.main) for --help and every other form.

containerd's runc shim starts the runtime four times per container (create, start, delete,
delete --force), each a fresh interpreter. argparse costs each start ~12 ms of CPU (its
import with gettext, re and locale, ~11 ms, and building thirteen sub-parsers; measured with
python -I -S -c 'import argparse' against 'pass', median of 20, on this project's loaded
2-core machine). parse() takes what it recognises exactly and returns None for anything else
(-h, abbreviations, combined short flags, a value that starts with "-", "--", a flag after a
positional, a wrong count or choice): argparse then parses it, so the help and the error
messages are argparse's and a parse that succeeds here gives argparse's Namespace.
"""

from __future__ import annotations

from shocker.parsed import Namespace
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence


class Option:
    """One flag: `names` (long first), a value or a store_true flag, its default."""

    __slots__ = ("choices", "default", "dest", "help", "integer", "names", "required", "value")

    def __init__(
        self,
        *names: str,
        value: bool = True,
        default: object = None,
        choices: tuple[str, ...] | None = None,
        integer: bool = False,
        required: bool = False,
        help: str | None = None,
    ) -> None:
        self.names = names
        self.dest = names[0].lstrip("-").replace("-", "_")
        self.value = value
        self.default = default if value else False
        self.choices = choices
        self.integer = integer
        self.required = required
        self.help = help


def flag(*names: str, help: str | None = None) -> Option:
    return Option(*names, value=False, help=help)


class Command:
    """A command: its summary, flags and positionals (an optional one: (name, default))."""

    __slots__ = ("optional", "options", "positionals", "summary")

    def __init__(
        self,
        summary: str,
        options: tuple[Option, ...] = (),
        positionals: tuple[str, ...] = ("id",),
        optional: tuple[str, str] | None = None,
    ) -> None:
        self.summary = summary
        self.options = options
        self.positionals = positionals
        self.optional = optional


GLOBAL = (
    Option("--root", help="state directory (/run/shocker-runtime)"),
    Option("--log", help="write errors (and info) to this file"),
    Option("--log-format", default="text", choices=("text", "json")),
    flag("--debug", help="accepted for runc compatibility"),
    flag("--systemd-cgroup"),
    Option("--rootless", default="false"),
    Option("--criu", help="accepted for runc compatibility"),
)

_CREATE = (
    Option("--bundle", "-b", default="."),
    Option("--pid-file"),
    Option("--console-socket"),
    flag("--no-pivot"),
    flag("--no-new-keyring"),
    Option("--preserve-fds", default=0, integer=True),
)

COMMANDS = {
    "create": Command("create a container from a bundle; its process waits for start", _CREATE),
    "run": Command(
        "create and start a container; wait for it unless --detach",
        (*_CREATE, flag("--detach", "-d")),
    ),
    "start": Command("run the created container's process"),
    "state": Command("print the container's state as JSON"),
    "kill": Command(
        "send a signal (default SIGTERM) to the container's init",
        (flag("--all", "-a", help="to every process in it"),),
        optional=("signal", "SIGTERM"),
    ),
    "delete": Command(
        "delete a stopped container (--force: kill it first)", (flag("--force", "-f"),)
    ),
    "exec": Command(
        "run a process (--process FILE) in a running container",
        (
            Option("--process", "-p", required=True),
            flag("--detach", "-d"),
            Option("--pid-file"),
            Option("--console-socket"),
            flag("--tty", "-t"),
            Option("--preserve-fds", default=0, integer=True),
        ),
    ),
    "ps": Command(
        "list the host pids of the container's processes",
        (Option("--format", "-f", default="table", choices=("table", "json")),),
    ),
    "pause": Command("freeze every process of the container"),
    "resume": Command("thaw a paused container"),
    "update": Command(
        "change the container's cgroup limits",
        (Option("--resources", "-r", required=True, help="resources JSON, - for stdin"),),
    ),
    "features": Command("print what this runtime supports, as JSON", positionals=()),
    "list": Command("list containers under --root", positionals=()),
}


def parse(argv: Sequence[str]) -> Namespace | None:
    """argv (without the program) as argparse would parse it, or None: let argparse do it."""
    values: dict[str, object] = {option.dest: option.default for option in GLOBAL}
    words = list(argv)
    index = _options(words, 0, GLOBAL, values)
    if index is None or index >= len(words) or words[index] not in COMMANDS:
        return None
    command = COMMANDS[words[index]]
    values["command"] = words[index]
    values.update((option.dest, option.default) for option in command.options)
    index = _options(words, index + 1, command.options, values)
    if index is None:
        return None
    positionals = words[index:]
    if any(word.startswith("-") and word != "-" for word in positionals):
        return None
    wanted = len(command.positionals)
    if not wanted <= len(positionals) <= wanted + (command.optional is not None):
        return None
    values.update(zip(command.positionals, positionals, strict=False))
    if command.optional is not None:
        name, default = command.optional
        values[name] = positionals[wanted] if len(positionals) > wanted else default
    if any(option.required and values[option.dest] is None for option in command.options):
        return None
    return Namespace(**values)


def _options(
    words: list[str], index: int, options: tuple[Option, ...], values: dict[str, object]
) -> int | None:
    """Consume the options from words[index]; the index of the first other word, or None
    when a word is not exactly one of them (with its value)."""
    while index < len(words) and words[index].startswith("-") and words[index] != "-":
        name, equals, attached = words[index].partition("=")
        option = next((o for o in options if name in o.names), None)
        if option is None or (equals and not name.startswith("--")):
            return None
        if not option.value:
            if equals:
                return None
            values[option.dest] = True
            index += 1
            continue
        if equals:
            value, index = attached, index + 1
        elif index + 1 < len(words):
            value, index = words[index + 1], index + 2
        else:
            return None
        if value.startswith("-") and value != "-" and not equals:
            return None
        if option.choices is not None and value not in option.choices:
            return None
        if option.integer:
            if not (value.isascii() and value.isdigit()):
                return None
            values[option.dest] = int(value)
        else:
            values[option.dest] = value
    return index
