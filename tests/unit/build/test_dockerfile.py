"""Reading a Dockerfile into stages, and the config-only instructions' meaning."""

from __future__ import annotations

from typing import Any

import pytest

from shocker.engine.build.dockerfile import parse
from shocker.engine.build.metadata import Metadata, healthcheck
from shocker.errors import BuildError

TEXT = """# escape=\\
ARG BASE=busybox
FROM ${BASE} AS build
RUN echo one && \\
    echo two
COPY --chown=1:2 a b /dst/
FROM scratch
COPY --from=build /x /y
RUN <<END
echo heredoc
END
"""


def test_stages_instructions_lines_and_flags() -> None:
    parsed = parse(TEXT)
    assert [a.text for a in parsed.global_args] == ["ARG BASE=busybox"]
    first, second = parsed.stages
    assert first.name == "build" and second.name is None
    assert [i.keyword for i in first.instructions] == ["RUN", "COPY"]
    run = first.instructions[0]
    assert (run.line, run.args) == (4, ("echo one &&     echo two",))
    copy = first.instructions[1]
    assert copy.flag("chown") == "1:2" and copy.flag("chmod") is None
    assert copy.where() == "Dockerfile:6: COPY --chown=1:2 a b /dst/"
    heredoc = second.instructions[1]
    assert heredoc.heredocs[0].content == "echo heredoc\n"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("FROM a\nBOGUS x\n", "Dockerfile:2: BOGUS x: unknown instruction BOGUS"),
        ("RUN true\n", "Dockerfile:1: RUN true: no build stage"),
        ("FROM a\nENV\n", "Dockerfile:2"),
        ("# only a comment\n", "Dockerfile"),
        ("FROM a AS x\nFROM b AS x\n", "same name"),
        ("FROM a\nRUN --mount=type=cache,target=/c make\n", "Dockerfile:2: RUN --mount=type"),
        ("FROM a\nCOPY --parents a /b/\n", "COPY --parents is not supported"),
    ],
)
def test_bad_dockerfiles_name_the_line(text: str, fragment: str) -> None:
    with pytest.raises(BuildError) as raised:
        parse(text)
    assert fragment in raised.value.message
    assert "\n" not in raised.value.message


def _apply(lines: str, section: dict[str, Any] | None = None) -> dict[str, Any]:
    section = dict(section or {})
    metadata = Metadata("\\")
    for instruction in parse(f"FROM scratch\n{lines}").stages[0].instructions:
        metadata.apply(instruction, section, {"WHO": "me"})
    return section


def test_shell_form_commands_use_the_shell_and_entrypoint_clears_an_inherited_cmd() -> None:
    section = _apply('ENTRYPOINT ["run"]', {"Cmd": ["inherited"]})
    assert section["Entrypoint"] == ["run"] and section["Cmd"] is None
    section = _apply('CMD ["mine"]\nENTRYPOINT ["run"]')
    assert section["Cmd"] == ["mine"]  # a CMD of this stage stays
    section = _apply('SHELL ["/bin/bash", "-c"]\nCMD echo $WHO')
    assert section["Cmd"] == ["/bin/bash", "-c", "echo $WHO"]


def test_env_label_expose_and_volume_values_are_expanded() -> None:
    section = _apply(
        'ENV A=1 B="two words" C=$WHO\nENV D 4 5\nLABEL "k k"=v\nEXPOSE 80 53/udp\nVOLUME /v'
    )
    assert section["Env"] == ["A=1", "B=two words", "C=me", "D=4 5"]
    assert section["Labels"] == {"k k": "v"}
    assert section["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert section["Volumes"] == {"/v": {}}


def test_healthcheck_forms_and_durations() -> None:
    parsed = parse('FROM scratch\nHEALTHCHECK --interval=1m30s --timeout=500ms CMD ["ok"]\n')
    check = healthcheck(parsed.stages[0].instructions[0], ("/bin/sh", "-c"))
    assert check == {"Test": ["CMD", "ok"], "Interval": 90 * 10**9, "Timeout": 5 * 10**8}
    parsed = parse("FROM scratch\nHEALTHCHECK NONE\n")
    assert healthcheck(parsed.stages[0].instructions[0], ("/bin/sh", "-c")) == {"Test": ["NONE"]}
