"""COPY/ADD sources written in the Dockerfile itself (`COPY <<EOF /dest`), as BuildKit has
them: each here-document is a file named after its delimiter, mode 0644 unless --chmod,
its variables expanded unless the delimiter is quoted, leading tabs dropped for `<<-`."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shocker.engine.build.dockerfile import Instruction
from shocker.engine.build.sources import Source, SourceTree
from shocker.engine.build.words import expand_raw

_LEADING_TABS = re.compile(r"^\t+", re.MULTILINE)


@dataclass(frozen=True)
class InlineFile:
    name: str
    content: bytes


def inline_files(
    instruction: Instruction, env: Mapping[str, str], escape: str
) -> dict[int, InlineFile]:
    """The source words of `instruction` that are here-documents, by their index in args."""
    found: dict[int, InlineFile] = {}
    pending = list(instruction.heredocs)
    for index, word in enumerate(instruction.args[:-1]):
        if not pending or not word.startswith("<<"):
            continue
        marker = word[2:]
        chomp = marker.startswith("-")
        marker = marker.removeprefix("-")
        quoted = marker[:1] in ("'", '"')
        if marker.strip("'\"") != pending[0].name:
            continue
        content = pending.pop(0).content
        if chomp:
            content = _LEADING_TABS.sub("", content)
        if not quoted:
            content = expand_raw(content, env, escape)
        found[index] = InlineFile(marker.strip("'\""), content.encode())
    return found


def key_of(files: Mapping[int, InlineFile]) -> list[str]:
    """What the cache compares: each file's name and content."""
    return [f"{f.name}:{hashlib.sha256(f.content).hexdigest()}" for f in files.values()]


def write(directory: Path, files: Mapping[int, InlineFile]) -> tuple[SourceTree, dict[int, Source]]:
    """The files written into `directory` (existing, empty): a tree over it and each file as
    one of its sources, by the same indexes."""
    tree = SourceTree(directory, confined=True)
    sources: dict[int, Source] = {}
    for index, file in files.items():
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        with open(os.open(directory / file.name, flags, 0o644), "wb") as out:
            out.write(file.content)
            os.fchmod(out.fileno(), 0o644)  # whatever the umask
        sources[index] = tree.resolve(file.name)[0]
    return tree, sources
