"""Docker's flag syntax for the start-critical commands (`run`, `exec`, `ps`).

argparse costs these commands ~2.5 ms to import (with gettext and locale) and ~2.5 ms more
to build `run`'s fifty options, on every start (measured with -X importtime and
perf_counter on this project's machine): a fifth of what `run --rm` spends in Python.
This parser keeps the part of argparse's interface the command modules use
(`add_argument` with store_true, append or a value; one REMAINDER positional last) and
Docker's rules (pflag's, as the docker CLI parses them):

- options come before the positionals; after the last single positional, a REMAINDER one
  takes every word left, options included (`run IMG ls -l`);
- short flags combine (`-it`), and the last may take its value attached (`-eA=1`, `-e=A=1`);
- long options take `--name value` or `--name=value`; booleans also `--rm=false`;
- a value is the next word whatever it looks like (`--pids-limit -1`); `--` ends options;
- no abbreviations of long names (Docker has none);
- `-h`/`--help` prints the help and exits 0; any error is a UsageError (one line, exit 125).

Other commands keep argparse (shocker.cli.argparser): they are not on the start path.
"""

from __future__ import annotations

from shocker.errors import UsageError
from shocker.parsed import Namespace
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import NoReturn

REMAINDER = "..."  # argparse.REMAINDER's value, so a module may pass either

_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False"})


class _Option:
    __slots__ = ("default", "dest", "help", "kind", "metavar", "names")

    def __init__(
        self,
        names: tuple[str, ...],
        dest: str,
        kind: str,
        default: object,
        metavar: str | None,
        help: str | None,
    ) -> None:
        self.names = names
        self.dest = dest
        self.kind = kind  # "flag", "value" or "append"
        self.default = default
        self.metavar = metavar
        self.help = help


class FlagParser:
    """A command's options and positionals; parse_args returns a Namespace."""

    def __init__(self, prog: str, description: str | None = None) -> None:
        self.prog = prog
        self.description = description
        self._options: list[_Option] = []
        self._by_name: dict[str, _Option] = {}
        self._positionals: list[tuple[str, bool, str | None]] = []  # dest, remainder, help

    def add_argument(
        self,
        *names: str,
        action: str | None = None,
        default: object = None,
        metavar: str | None = None,
        help: str | None = None,
        nargs: str | None = None,
        dest: str | None = None,
    ) -> None:
        """argparse's add_argument for what these commands need; anything else is refused."""
        if not names[0].startswith("-"):
            if len(names) != 1 or action is not None or nargs not in (None, REMAINDER):
                raise TypeError(f"unsupported positional {names}")
            if self._positionals and self._positionals[-1][1]:
                raise TypeError("a REMAINDER positional must be the last")
            self._positionals.append((dest or names[0], nargs == REMAINDER, help))
            return
        kinds = {None: "value", "store_true": "flag", "append": "append"}
        if action not in kinds or nargs is not None:
            raise TypeError(f"unsupported option {names}: action={action!r} nargs={nargs!r}")
        long = next((n for n in names if n.startswith("--")), names[0])
        kind = kinds[action]
        if kind == "flag":
            default = False
        elif kind == "append" and default is None:
            default = []
        option = _Option(
            names, dest or long.lstrip("-").replace("-", "_"), kind, default, metavar, help
        )
        self._options.append(option)
        for name in names:
            if name in self._by_name or not (
                (name.startswith("--") and len(name) > 2) or len(name) == 2
            ):
                raise TypeError(f"option name {name!r} taken or malformed")
            self._by_name[name] = option

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}", hint=f"see '{self.prog} --help'")

    def parse_args(self, argv: list[str]) -> Namespace:
        values: dict[str, object] = {}
        for option in self._options:
            default = option.default
            values[option.dest] = list(default) if isinstance(default, list) else default
        positionals = list(self._positionals)
        for dest, remainder, _ in positionals:
            values[dest] = [] if remainder else None
        words = list(argv)
        index = 0
        options_done = False
        while index < len(words):
            word = words[index]
            index += 1
            if options_done or word == "-" or not word.startswith("-"):
                if not positionals:
                    self.error(f"unexpected argument '{word}'")
                dest, remainder, _ = positionals.pop(0)
                if remainder:
                    values[dest] = words[index - 1 :]
                    break
                values[dest] = word
                if positionals and positionals[0][1]:
                    # Docker: everything after IMAGE (or CONTAINER) is the command.
                    values[positionals.pop(0)[0]] = words[index:]
                    break
                continue
            if word == "--":
                options_done = True
                continue
            if word in ("-h", "--help"):
                print(self.format_help(), end="")
                raise SystemExit(0)
            if word.startswith("--"):
                name, eq, value = word.partition("=")
                option = self._lookup(name)
                if option.kind == "flag":
                    values[option.dest] = self._boolean(name, value) if eq else True
                    continue
                if not eq:
                    value = self._next(words, index, name)
                    index += 1
                self._store(values, option, value)
                continue
            # A run of short flags; the first that takes a value ends it.
            position = 1
            while position < len(word):
                name = "-" + word[position]
                option = self._lookup(name)
                position += 1
                if option.kind == "flag":
                    values[option.dest] = True
                    continue
                value = word[position:]
                if value.startswith("="):
                    value = value[1:]
                elif not value:
                    value = self._next(words, index, name)
                    index += 1
                self._store(values, option, value)
                break
        missing = [dest for dest, remainder, _ in positionals if not remainder]
        if missing:
            self.error(f"the following arguments are required: {', '.join(missing)}")
        return Namespace(**values)

    def _lookup(self, name: str) -> _Option:
        option = self._by_name.get(name)
        if option is None:
            self.error(f"unknown flag: {name}")
        return option

    def _next(self, words: list[str], index: int, name: str) -> str:
        if index >= len(words):
            self.error(f"flag needs an argument: {name}")
        return words[index]

    def _boolean(self, name: str, value: str) -> bool:
        if value in _TRUE:
            return True
        if value not in _FALSE:
            self.error(f"invalid value {value!r} for {name}: use true or false")
        return False

    @staticmethod
    def _store(values: dict[str, object], option: _Option, value: str) -> None:
        if option.kind == "append":
            accumulated = values[option.dest]
            assert isinstance(accumulated, list)
            accumulated.append(value)
        else:
            values[option.dest] = value

    def format_usage(self) -> str:
        words = [f"usage: {self.prog}"]
        if self._options:
            words.append("[OPTIONS]")
        for dest, remainder, _ in self._positionals:
            words.append(f"[{dest.upper()}...]" if remainder else dest.upper())
        return " ".join(words) + "\n"

    def format_help(self) -> str:
        lines = [self.format_usage().rstrip()]
        if self.description:
            lines += ["", self.description]
        if self._positionals:
            lines += ["", "positional arguments:"]
            lines += [_row(dest, text) for dest, _, text in self._positionals]
        lines += ["", "options:", _row("-h, --help", "show this help message and exit")]
        for option in self._options:
            names = ", ".join(option.names)
            if option.kind != "flag":
                names += f" {option.metavar or option.dest.upper()}"
            lines.append(_row(names, option.help))
        return "\n".join(lines) + "\n"


def _row(names: str, text: str | None) -> str:
    """argparse's layout: names from column 2, help from column 24 (or on the next line)."""
    if not text:
        return f"  {names}"
    if len(names) <= 20:
        return f"  {names.ljust(22)}{text}"
    return f"  {names}\n{' ' * 24}{text}"
