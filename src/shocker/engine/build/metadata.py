"""The instructions that change only the image config: ENV, LABEL, EXPOSE, VOLUME, USER,
CMD, ENTRYPOINT, SHELL, STOPSIGNAL, HEALTHCHECK, ONBUILD, MAINTAINER (pure functions over
the config's `config` section, Docker's documented behaviour)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from shocker.engine.build.dockerfile import Instruction
from shocker.engine.build.words import expand
from shocker.errors import BuildError

DEFAULT_SHELL = ("/bin/sh", "-c")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}


def env_map(section: Mapping[str, Any]) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in section.get("Env") or []:
        key, _, value = str(item).partition("=")
        result[key] = value
    return result


def set_env(section: dict[str, Any], values: Mapping[str, str]) -> None:
    merged = env_map(section)
    merged.update(values)
    section["Env"] = [f"{k}={v}" for k, v in merged.items()]


def pairs(instruction: Instruction, env: Mapping[str, str], escape: str) -> list[tuple[str, str]]:
    """ENV/LABEL `k=v k2=v2` and `k v` forms, each word expanded against the environment
    before this instruction (so `ENV A=1 B=$A` sees the old A, as Docker)."""
    args = instruction.args
    if len(args) % 2:
        raise BuildError(f"{instruction.where()}: expected KEY=VALUE pairs")
    result = []
    for i in range(0, len(args), 2):
        key = expand(args[i], env, escape)
        if not key:
            raise BuildError(f"{instruction.where()}: an empty name")
        result.append((key, expand(args[i + 1], env, escape)))
    return result


def command_form(
    instruction: Instruction, shell: tuple[str, ...], *, allow_empty: bool = False
) -> list[str]:
    """Exec form as given; shell form as SHELL + [text] (Docker: `/bin/sh -c TEXT`)."""
    if instruction.is_json:
        return list(instruction.args)
    text = " ".join(instruction.args).strip()
    if not text and not allow_empty:
        raise BuildError(f"{instruction.where()}: a command is needed")
    return [*shell, text]


def duration_ns(text: str, instruction: Instruction) -> int:
    total, at = 0, 0
    for match in _DURATION.finditer(text):
        if match.start() != at:
            break
        total += int(float(match.group(1)) * _UNIT_NS[match.group(2)])
        at = match.end()
    if at != len(text) or not text:
        raise BuildError(f"{instruction.where()}: invalid duration '{text}'")
    return total


def healthcheck(instruction: Instruction, shell: tuple[str, ...]) -> dict[str, Any]:
    args = instruction.args
    if args and args[0].upper() == "NONE":
        return {"Test": ["NONE"]}
    if not args or args[0].upper() != "CMD":
        raise BuildError(f"{instruction.where()}: HEALTHCHECK takes CMD or NONE")
    rest = args[1:]
    if instruction.is_json:
        test = ["CMD", *rest]
    else:
        text = " ".join(rest).strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError:
                parsed = None
            test = ["CMD", *parsed] if isinstance(parsed, list) else ["CMD-SHELL", text]
        else:
            test = ["CMD-SHELL", text]
    check: dict[str, Any] = {"Test": test}
    for flag, key in (
        ("interval", "Interval"),
        ("timeout", "Timeout"),
        ("start-period", "StartPeriod"),
        ("start-interval", "StartInterval"),
    ):
        value = instruction.flag(flag)
        if value:
            check[key] = duration_ns(value, instruction)
    retries = instruction.flag("retries")
    if retries:
        if not retries.isdigit():
            raise BuildError(f"{instruction.where()}: --retries must be a number")
        check["Retries"] = int(retries)
    return check


class Metadata:
    """Applies one config-only instruction; `cmd_set` remembers a CMD of this stage, which
    a later ENTRYPOINT keeps (an inherited CMD it clears)."""

    def __init__(self, escape: str) -> None:
        self.escape = escape
        self.cmd_set = False

    def apply(
        self, instruction: Instruction, section: dict[str, Any], env: Mapping[str, str]
    ) -> None:
        handler: Callable[[Instruction, dict[str, Any], Mapping[str, str]], None] = getattr(
            self, "_" + instruction.keyword.lower()
        )
        handler(instruction, section, env)

    def _word(self, instruction: Instruction, env: Mapping[str, str]) -> str:
        if len(instruction.args) != 1:
            raise BuildError(f"{instruction.where()}: {instruction.keyword} takes one argument")
        return expand(instruction.args[0], env, self.escape)

    def _shell_of(self, section: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(section.get("Shell") or DEFAULT_SHELL)

    def _env(
        self, instruction: Instruction, section: dict[str, Any], env: Mapping[str, str]
    ) -> None:
        set_env(section, dict(pairs(instruction, env, self.escape)))

    def _label(
        self, instruction: Instruction, section: dict[str, Any], env: Mapping[str, str]
    ) -> None:
        labels = dict(section.get("Labels") or {})
        labels.update(pairs(instruction, env, self.escape))
        section["Labels"] = labels

    def _maintainer(
        self, instruction: Instruction, section: dict[str, Any], env: Mapping[str, str]
    ) -> None:
        section.setdefault("Labels", {})  # the author lives outside `config`: kept in Labels
        section["Labels"] = {**section["Labels"], "maintainer": " ".join(instruction.args)}

    def _expose(
        self, instruction: Instruction, section: dict[str, Any], env: Mapping[str, str]
    ) -> None:
        ports = dict(section.get("ExposedPorts") or {})
        for word in instruction.args:
            port = expand(word, env, self.escape)
            number, _, protocol = port.partition("/")
            if not number.isdigit() or protocol not in ("", "tcp", "udp", "sctp"):
                raise BuildError(f"{instruction.where()}: invalid port '{port}'")
            ports[f"{int(number)}/{protocol or 'tcp'}"] = {}
        section["ExposedPorts"] = ports

    def _volume(
        self, instruction: Instruction, section: dict[str, Any], env: Mapping[str, str]
    ) -> None:
        volumes = dict(section.get("Volumes") or {})
        for word in instruction.args:
            path = expand(word, env, self.escape) if not instruction.is_json else word
            if not path:
                raise BuildError(f"{instruction.where()}: a volume needs a path")
            volumes[path] = {}
        section["Volumes"] = volumes

    def _user(
        self, instruction: Instruction, section: dict[str, Any], env: Mapping[str, str]
    ) -> None:
        section["User"] = self._word(instruction, env)

    def _stopsignal(
        self, instruction: Instruction, section: dict[str, Any], env: Mapping[str, str]
    ) -> None:
        section["StopSignal"] = self._word(instruction, env)

    def _cmd(
        self, instruction: Instruction, section: dict[str, Any], env: Mapping[str, str]
    ) -> None:
        section["Cmd"] = command_form(instruction, self._shell_of(section))
        self.cmd_set = True

    def _entrypoint(
        self, instruction: Instruction, section: dict[str, Any], env: Mapping[str, str]
    ) -> None:
        section["Entrypoint"] = command_form(instruction, self._shell_of(section))
        if not self.cmd_set:
            section["Cmd"] = None  # Docker: a new ENTRYPOINT clears the CMD it inherited

    def _shell(
        self, instruction: Instruction, section: dict[str, Any], env: Mapping[str, str]
    ) -> None:
        if not instruction.is_json or not instruction.args:
            raise BuildError(
                f'{instruction.where()}: SHELL requires the JSON form, e.g. ["/bin/sh", "-c"]'
            )
        section["Shell"] = list(instruction.args)

    def _healthcheck(
        self, instruction: Instruction, section: dict[str, Any], env: Mapping[str, str]
    ) -> None:
        section["Healthcheck"] = healthcheck(instruction, self._shell_of(section))

    def _onbuild(
        self, instruction: Instruction, section: dict[str, Any], env: Mapping[str, str]
    ) -> None:
        trigger = (instruction.trigger or "").strip()
        keyword = trigger.split(None, 1)[0].upper() if trigger else ""
        if keyword in ("", "ONBUILD", "FROM", "MAINTAINER"):
            raise BuildError(
                f"{instruction.where()}: ONBUILD cannot trigger {keyword or 'nothing'}"
            )
        section["OnBuild"] = [*(section.get("OnBuild") or []), trigger]


METADATA_KEYWORDS = frozenset(
    {
        "ENV",
        "LABEL",
        "MAINTAINER",
        "EXPOSE",
        "VOLUME",
        "USER",
        "STOPSIGNAL",
        "CMD",
        "ENTRYPOINT",
        "SHELL",
        "HEALTHCHECK",
        "ONBUILD",
    }
)
