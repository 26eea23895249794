"""Where COPY and ADD read from: the build context (with .dockerignore, never outside it)
or another stage's or image's filesystem; which files a source names, and their digest."""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shocker.engine.build.ignore import Ignore, glob_regex
from shocker.errors import BuildError

_MAX_LINKS = 40
_WILDCARD = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Source:
    """One named source: `path` on the host, `name` relative to its tree (`/`-separated)."""

    path: Path
    name: str
    is_dir: bool


@dataclass(frozen=True)
class Entry:
    """A file under a source: `relative` to the source ("" for a file source itself)."""

    relative: str
    path: Path
    info: os.stat_result


class SourceTree:
    """A directory files are copied from. `ignore` applies to the build context only;
    `confined` refuses symlinks that lead out (the context), else they resolve inside
    (another stage's root filesystem, where `/` means its root)."""

    def __init__(self, root: Path, ignore: Ignore | None = None, *, confined: bool) -> None:
        self.root = root
        self.ignore = ignore or Ignore([])
        self.confined = confined

    def resolve(self, pattern: str) -> list[Source]:
        """The sources a COPY/ADD argument names (a path or a wildcard), in name order."""
        cleaned = posixpath.normpath("/" + pattern).lstrip("/") if pattern else ""
        if self.confined and _escapes(pattern):
            raise BuildError(f"forbidden path outside the build context: {pattern}")
        if _WILDCARD.search(cleaned):
            regex = re.compile(glob_regex(cleaned) + r"\Z")
            names = [n for n in self._names(cleaned) if regex.match(n)]
            if not names:
                raise BuildError(f"no source files were specified: {pattern} matches nothing")
            return [self._source(name, pattern) for name in names]
        return [self._source(cleaned, pattern)]

    def _names(self, pattern: str) -> Iterator[str]:
        """Every non-ignored name at the depth of `pattern` (wildcards match one level each,
        `**` any), without following symlinks."""
        depth = None if "**" in pattern else pattern.count("/") + 1
        for directory, dirs, files in os.walk(self.root):
            prefix = os.path.relpath(directory, self.root)
            level = 0 if prefix == "." else prefix.count("/") + 1
            for name in sorted([*dirs, *files]):
                relative = name if prefix == "." else f"{prefix}/{name}"
                if not self.ignore.excludes(relative):
                    yield relative
            if depth is not None and level + 1 >= depth:
                dirs.clear()

    def _source(self, name: str, pattern: str) -> Source:
        if name and self.ignore.excludes(name):
            raise BuildError(f"{pattern}: not found (excluded by .dockerignore)")
        path = self._follow(name, pattern)
        try:
            info = path.stat()
        except FileNotFoundError:
            raise BuildError(f"{pattern}: no such file or directory") from None
        return Source(path, name, stat.S_ISDIR(info.st_mode))

    def _follow(self, name: str, pattern: str) -> Path:
        """`name` with its symlinks resolved inside the tree."""
        parts = [p for p in name.split("/") if p]
        done: list[str] = []
        budget = _MAX_LINKS
        while parts:
            part = parts.pop(0)
            if part == "..":
                if done:
                    done.pop()
                elif self.confined:
                    raise BuildError(f"forbidden path outside the build context: {pattern}")
                continue
            candidate = self.root.joinpath(*done, part)
            if candidate.is_symlink():
                budget -= 1
                if budget < 0:
                    raise BuildError(f"{pattern}: too many levels of symbolic links")
                target = str(candidate.readlink())
                if target.startswith("/"):
                    if self.confined:
                        raise BuildError(
                            f"forbidden path outside the build context: {pattern} "
                            f"(a symbolic link to {target})"
                        )
                    done = []
                parts[:0] = [p for p in target.split("/") if p and p != "."]
                if self.confined and _climbs(done, target):
                    raise BuildError(
                        f"forbidden path outside the build context: {pattern} "
                        f"(a symbolic link to {target})"
                    )
                continue
            done.append(part)
        return self.root.joinpath(*done)

    def entries(self, source: Source) -> Iterator[Entry]:
        """The source itself (relative "") and, for a directory, everything below it that
        .dockerignore keeps, parents before children, symlinks not followed."""
        yield Entry("", source.path, source.path.stat())
        if not source.is_dir:
            return
        yield from self._below(source.path, source.name, "")

    def _below(self, directory: Path, name: str, relative: str) -> Iterator[Entry]:
        with os.scandir(directory) as scan:
            items = sorted(scan, key=lambda e: e.name)
        for item in items:
            inner = f"{relative}/{item.name}" if relative else item.name
            full = f"{name}/{inner}" if name else inner
            info = item.stat(follow_symlinks=False)
            is_dir = stat.S_ISDIR(info.st_mode)
            if self.ignore.excludes(full):
                if is_dir and self.ignore.may_hold_kept(full):
                    yield from self._below(Path(item.path), name, inner)
                continue
            yield Entry(inner, Path(item.path), info)
            if is_dir:
                yield from self._below(Path(item.path), name, inner)

    def digest(self, sources: list[Source]) -> str:
        """What the cache compares: every entry's name, type, mode, owner and content (not
        its times)."""
        hasher = hashlib.sha256()
        for source in sources:
            hasher.update(f"source {source.name}\0".encode())
            for entry in self.entries(source):
                info = entry.info
                hasher.update(
                    f"{entry.relative}\0{info.st_mode:o}\0{info.st_uid}\0{info.st_gid}\0".encode()
                )
                if stat.S_ISLNK(info.st_mode):
                    hasher.update(str(entry.path.readlink()).encode() + b"\0")
                elif stat.S_ISREG(info.st_mode):
                    hasher.update(_file_digest(entry.path))
        return hasher.hexdigest()


def _file_digest(path: Path) -> bytes:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").digest()


def _escapes(pattern: str) -> bool:
    """A relative source that climbs above its root (`../x`, `a/../../x`)."""
    return _climbs([], pattern)


def _climbs(done: list[str], target: str) -> bool:
    """Whether `target`, followed from the directory `done` names, climbs above the root."""
    depth = len(done)
    for part in target.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False
