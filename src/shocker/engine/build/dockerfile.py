"""A Dockerfile read into stages of typed instructions.

The syntax (line continuations, heredocs, flags, JSON forms, `# escape=`) is BuildKit's own
parser through the `dockerfile` package; what the instructions mean is ours (steps.py).
Imported only by `shocker build` (the parser is a Go shared library: ~5 ms to load).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shocker.errors import BuildError

KNOWN = frozenset(
    {
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    }
)
# The flags each instruction takes here; any other (`RUN --mount`, `COPY --parents`) is
# refused rather than ignored, since ignoring it would build something else.
FLAGS = {
    "FROM": frozenset({"platform"}),
    "RUN": frozenset({"network"}),
    "COPY": frozenset({"from", "chown", "chmod", "link"}),
    "ADD": frozenset({"chown", "chmod", "link"}),
    "HEALTHCHECK": frozenset({"interval", "timeout", "start-period", "start-interval", "retries"}),
}
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")


@dataclass(frozen=True)
class Heredoc:
    name: str
    content: str


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: "RUN"
    args: tuple[str, ...]  # words as the parser split them, quotes not yet removed
    flags: tuple[str, ...]  # "--chown=1:2", as written
    is_json: bool  # exec form (`RUN ["a", "b"]`)
    line: int
    text: str  # the instruction as written, continuations joined ("RUN make")
    heredocs: tuple[Heredoc, ...] = ()
    trigger: str | None = None  # ONBUILD's instruction text

    def flag(self, name: str) -> str | None:
        """The value of `--name=VALUE` (the last one), None when absent."""
        found = None
        for item in self.flags:
            key, _, value = item.partition("=")
            if key == f"--{name}":
                found = value
        return found

    def where(self) -> str:
        """How a failure names this step: `Dockerfile:3: RUN make`."""
        return f"Dockerfile:{self.line}: {self.text.splitlines()[0] if self.text else ''}"


@dataclass(frozen=True)
class Stage:
    index: int
    name: str | None  # `AS name`, lower case
    source: Instruction  # its FROM
    instructions: tuple[Instruction, ...] = field(default=())


@dataclass(frozen=True)
class Dockerfile:
    global_args: tuple[Instruction, ...]  # ARGs before the first FROM
    stages: tuple[Stage, ...]
    escape: str  # "\\" or "`"


def escape_character(text: str) -> str:
    """The `# escape=` parser directive (only at the very top, before any other line)."""
    for line in text.splitlines():
        match = _DIRECTIVE.match(line.strip())
        if not match:
            break
        if match.group(1).lower() == "escape":
            return match.group(2)
    return "\\"


def parse(text: str) -> Dockerfile:
    """The Dockerfile `text` in stages; BuildError naming the line for bad syntax."""
    import dockerfile

    try:
        commands = dockerfile.parse_string(text)
    except dockerfile.GoParseError as error:
        raise BuildError(_locate(text, str(error))) from None
    instructions = [_instruction(command) for command in commands]
    global_args: list[Instruction] = []
    stages: list[Stage] = []
    current: list[Instruction] = []
    for instruction in instructions:
        if instruction.keyword not in KNOWN:
            raise BuildError(f"{instruction.where()}: unknown instruction {instruction.keyword}")
        for item in instruction.flags:
            name = item.partition("=")[0].removeprefix("--")
            if name not in FLAGS.get(instruction.keyword, frozenset()):
                raise BuildError(
                    f"{instruction.where()}: {instruction.keyword} --{name} is not supported"
                )
        if not instruction.args and not instruction.is_json and instruction.keyword != "ONBUILD":
            raise BuildError(
                f"{instruction.where()}: {instruction.keyword} requires at least one argument"
            )
        if instruction.keyword == "FROM":
            if stages:
                stages[-1] = Stage(
                    stages[-1].index, stages[-1].name, stages[-1].source, tuple(current)
                )
            stages.append(_stage(len(stages), instruction))
            current = []
        elif not stages:
            if instruction.keyword != "ARG":
                raise BuildError(
                    f"{instruction.where()}: no build stage in current context "
                    "(only ARG may come before the first FROM)"
                )
            global_args.append(instruction)
        else:
            current.append(instruction)
    if not stages:
        raise BuildError("Dockerfile: no FROM instruction: a build needs a base image or scratch")
    last = stages[-1]
    stages[-1] = Stage(last.index, last.name, last.source, tuple(current))
    names = [s.name for s in stages if s.name]
    if len(names) != len(set(names)):
        raise BuildError("Dockerfile: two stages have the same name")
    return Dockerfile(tuple(global_args), tuple(stages), escape_character(text))


def _instruction(command: object) -> Instruction:
    keyword = str(command.cmd).upper()  # type: ignore[attr-defined]
    original = str(command.original)  # type: ignore[attr-defined]
    trigger = None
    if keyword == "ONBUILD":
        trigger = original.split(None, 1)[1] if " " in original.strip() else ""
    return Instruction(
        keyword=keyword,
        args=tuple(command.value),  # type: ignore[attr-defined]
        flags=tuple(command.flags),  # type: ignore[attr-defined]
        is_json=bool(command.json),  # type: ignore[attr-defined]
        line=int(command.start_line),  # type: ignore[attr-defined]
        text=original,
        heredocs=tuple(
            Heredoc(str(h.name), str(h.content))
            for h in command.heredocs  # type: ignore[attr-defined]
        ),
        trigger=trigger,
    )


def _stage(index: int, source: Instruction) -> Stage:
    args = source.args
    name = None
    if len(args) == 3 and args[1].upper() == "AS":
        name = args[2].lower()
        if not re.fullmatch(r"[a-z][a-z0-9_.-]*", name):
            raise BuildError(f"{source.where()}: invalid stage name '{args[2]}'")
    elif len(args) != 1:
        raise BuildError(f"{source.where()}: FROM takes an image and an optional AS name")
    return Stage(index, name, source)


def _locate(text: str, message: str) -> str:
    """`Dockerfile:N: message`: the first line at which a prefix of the file fails so."""
    import dockerfile

    lines = text.splitlines(keepends=True)
    for count in range(1, len(lines) + 1):
        try:
            dockerfile.parse_string("".join(lines[:count]))
        except dockerfile.GoParseError as error:
            if str(error) == message:
                return f"Dockerfile:{count}: {lines[count - 1].strip()}: {message}"
    return f"Dockerfile: {message}"
