"""The COPY and ADD steps: which sources (the context, another stage's or an image's
filesystem, here-documents), with which owner and mode, under which cache key; copying.py
writes them into the step's snapshot."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from shocker.engine.build.copying import Ownership, copy_sources, destination_path, read_in
from shocker.engine.build.heredocs import InlineFile, inline_files, key_of, write
from shocker.engine.build.sources import Source, SourceTree
from shocker.engine.build.words import expand
from shocker.errors import BuildError, ShockerError
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.engine.build.builder import Builder
    from shocker.engine.build.dockerfile import Instruction
    from shocker.engine.build.state import StageState
    from shocker.store.store import Store


def copy_step(builder: Builder, state: StageState, instruction: Instruction) -> None:
    """COPY or ADD: sources from the context, a stage, an image or here-documents."""
    env = builder.scope(state)
    inline = inline_files(instruction, env, builder.escape)
    words = [
        w if instruction.is_json or i in inline else expand(w, env, builder.escape)
        for i, w in enumerate(instruction.args)
    ]
    if len(words) < 2:
        raise BuildError(f"{instruction.keyword} needs a source and a destination")
    *patterns, dest = words
    tree, tree_id = _tree(builder, instruction, env)
    is_add = instruction.keyword == "ADD"
    for index, pattern in enumerate(patterns):
        if index not in inline and ("://" in pattern or pattern.startswith("git@")):
            raise BuildError(
                f"ADD of a URL is not supported: {pattern} (fetch it into the context and COPY it)"
                if is_add
                else f"COPY cannot fetch a URL: {pattern}"
            )
    named = {
        index: tree.resolve(pattern)
        for index, pattern in enumerate(patterns)
        if index not in inline
    }
    sources = [s for found in named.values() for s in found]
    owner = _ownership(builder, state, instruction, env)
    target = destination_path(dest, state.section().get("WorkingDir") or "/")
    archives = set()
    if is_add:
        from shocker.engine.build.archive import is_archive

        archives = {s.name for s in sources if not s.is_dir and is_archive(s.path)}
    key = [
        "COPY" if not is_add else "ADD",
        words,
        instruction.flags,
        tree_id,
        tree.digest(sources),
        key_of(inline),
        [owner.uid, owner.gid, owner.mode],
        target,
    ]

    def writer(root: Path) -> None:
        with _inline_tree(builder.store, inline) as written:
            plain = []
            for index in range(len(patterns)):  # in the Dockerfile's order
                if index in written:
                    plain.append(written[index])
                else:
                    plain.extend((tree, s) for s in named[index] if s.name not in archives)
            if plain:
                copy_sources(root, plain, target, owner)
        if archives:
            from shocker.engine.build.archive import unpack

            for source in sources:
                if source.name in archives:
                    unpack(root, source.path, target)

    builder.cached(state, instruction, key, writer)


@contextlib.contextmanager
def _inline_tree(
    store: Store, inline: dict[int, InlineFile]
) -> Iterator[dict[int, tuple[SourceTree, Source]]]:
    """Here-document sources as files in a scratch subvolume, for as long as the copy."""
    if not inline:
        yield {}
        return
    from shocker.store import btrfs
    from shocker.store.layers import scratch_path

    directory = scratch_path(store.layout, "heredoc")
    btrfs.create_subvolume(directory)
    try:
        tree, sources = write(directory, inline)
        yield {index: (tree, source) for index, source in sources.items()}
    finally:
        btrfs.delete_subvolume(directory)


def _tree(
    builder: Builder, instruction: Instruction, env: dict[str, str]
) -> tuple[SourceTree, str]:
    source = instruction.flag("from")
    if not source:
        return builder.context, "context"
    name = expand(source, {**builder.global_args, **env}, builder.escape)
    stage = builder.stage_named(name)
    if stage is not None and stage.index in builder.done:
        done = builder.done[stage.index]
        fs = done.fs(builder.store)
        if fs is None:
            raise BuildError(f"stage '{name}' has an empty filesystem")
        return SourceTree(fs, confined=False), f"stage {done.key}"
    from shocker.engine.create import find_or_pull

    try:
        image = find_or_pull(builder.store, builder.settings, name, None, builder.reporter)
    except ShockerError as error:
        raise BuildError(error.message) from None
    return SourceTree(builder.store.layout.image_rootfs(image.id), confined=False), image.id


def _ownership(
    builder: Builder, state: StageState, instruction: Instruction, env: dict[str, str]
) -> Ownership:
    mode = None
    chmod = instruction.flag("chmod")
    if chmod:
        try:
            mode = int(expand(chmod, env, builder.escape), 8)
        except ValueError:
            raise BuildError(f"invalid --chmod '{chmod}': use an octal mode") from None
    chown = instruction.flag("chown")
    if not chown:
        return Ownership(mode=mode)
    spec = expand(chown, env, builder.escape)
    user, _, group = spec.partition(":")
    fs = state.fs(builder.store)
    passwd = read_in(fs, "/etc/passwd")
    groups = read_in(fs, "/etc/group")
    from shocker.runtime.users import resolve_user

    try:
        identity = resolve_user(user if not group else f"{user}:{group}", passwd, groups)
    except ShockerError as error:
        raise BuildError(f"invalid --chown '{spec}': {error.message}") from None
    return Ownership(identity.uid, identity.gid, mode)
