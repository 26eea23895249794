"""The build: the stages the target needs, in order, each instruction a step whose result
(image config and layers) is cached under a key of everything it depends on.

A step's filesystem is the layer subvolume of its top chain id (read-only); RUN runs a
container on a snapshot of it, COPY/ADD write into a snapshot, and the difference becomes
the next layer (store/layerdiff.py). The image record, written last, is the commit point:
a failed or killed build lists no image and tags nothing (its finished steps stay cached).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shocker.engine.build.dockerfile import Dockerfile, Instruction, Stage, parse
from shocker.engine.build.ignore import Ignore
from shocker.engine.build.metadata import (
    DEFAULT_SHELL,
    METADATA_KEYWORDS,
    Metadata,
    command_form,
    env_map,
)
from shocker.engine.build.sources import SourceTree
from shocker.engine.build.state import (
    PROXY_ARGS,
    BuildOptions,
    BuildResult,
    Say,
    StageState,
    digest_of,
    platform_args,
)
from shocker.engine.build.words import expand
from shocker.errors import BuildError, NotFound, ShockerError
from shocker.settings import Settings
from shocker.store.store import Store

__all__ = ["BuildOptions", "BuildResult", "Builder", "build"]


class Builder:
    """One build: which stages, then each instruction as a step (`cached`); COPY and ADD
    are copystep.py's, the state they share is state.py's."""

    def __init__(
        self, store: Store, settings: Settings, options: BuildOptions, reporter: Any, say: Say
    ) -> None:
        self.store = store
        self.settings = settings
        self.options = options
        self.reporter = reporter
        self.say = say
        self.file: Dockerfile = parse(options.dockerfile)
        self.escape = self.file.escape
        self.context = SourceTree(options.context, Ignore.from_text(options.ignore), confined=True)
        self.global_args = self._global_args()
        self.done: dict[int, StageState] = {}
        self.step = 0
        self.total = 0

    # Which stages, how many steps.

    def _global_args(self) -> dict[str, str]:
        values = platform_args()
        for instruction in self.file.global_args:
            for name, default in self._arg_words(instruction, values):
                fallback = default if default is not None else values.get(name, "")
                values[name] = self.options.build_args.get(name, fallback)
        return values

    def _arg_words(
        self, instruction: Instruction, env: dict[str, str]
    ) -> list[tuple[str, str | None]]:
        found = []
        for word in instruction.args:
            name, sep, default = word.partition("=")
            if not name:
                raise BuildError(f"{instruction.where()}: ARG needs a name")
            found.append((name, expand(default, env, self.escape) if sep else None))
        return found

    def stage_named(self, text: str) -> Stage | None:
        wanted = text.lower()
        for stage in self.file.stages:
            if stage.name == wanted:
                return stage
        if text.isdigit() and int(text) < len(self.file.stages):
            return self.file.stages[int(text)]
        return None

    def _dependencies(self, stage: Stage) -> list[Stage]:
        found = []
        base = self.stage_named(expand(stage.source.args[0], self.global_args, self.escape))
        if base is not None and base.index < stage.index:
            found.append(base)
        for instruction in stage.instructions:
            source = instruction.flag("from") if instruction.keyword in ("COPY", "ADD") else None
            if source:
                other = self.stage_named(expand(source, self.global_args, self.escape))
                if other is not None:
                    if other.index >= stage.index:
                        raise BuildError(f"{instruction.where()}: stage '{source}' comes later")
                    found.append(other)
        return found

    def needed(self) -> list[Stage]:
        target = self.file.stages[-1]
        if self.options.target:
            found = self.stage_named(self.options.target)
            if found is None or (self.options.target.isdigit() and found.name):
                raise BuildError(f"target stage '{self.options.target}' could not be found")
            target = found
        wanted: dict[int, Stage] = {}
        pending = [target]
        while pending:
            stage = pending.pop()
            if stage.index not in wanted:
                wanted[stage.index] = stage
                pending.extend(self._dependencies(stage))
        return [wanted[i] for i in sorted(wanted)]

    # Running.

    def build(self) -> BuildResult:
        from shocker.engine.build.runstep import sweep_orphans

        sweep_orphans(self.store)
        stages = self.needed()
        self.total = sum(1 + len(stage.instructions) for stage in stages)
        state = None
        for stage in stages:
            state = self._stage(stage)
            self.done[stage.index] = state
        assert state is not None
        return self._image(state)

    def _announce(self, instruction: Instruction) -> None:
        self.step += 1
        first = instruction.text.splitlines()[0] if instruction.text else instruction.keyword
        self.say(f"STEP {self.step}/{self.total}: {first}")

    def _stage(self, stage: Stage) -> StageState:
        self._announce(stage.source)
        state = self._from(stage)
        metadata = Metadata(self.escape)
        triggers = list(state.section().pop("OnBuild", None) or [])
        for text in triggers:
            for instruction in parse(f"FROM scratch\n{text}\n").stages[0].instructions:
                self._instruction(
                    state,
                    metadata,
                    Instruction(
                        instruction.keyword,
                        instruction.args,
                        instruction.flags,
                        instruction.is_json,
                        stage.source.line,
                        instruction.text,
                        instruction.heredocs,
                        instruction.trigger,
                    ),
                )
        for instruction in stage.instructions:
            self._announce(instruction)
            self._instruction(state, metadata, instruction)
        return state

    def _from(self, stage: Stage) -> StageState:
        source = stage.source
        name = expand(source.args[0], self.global_args, self.escape)
        if not name:
            raise BuildError(f"{source.where()}: the base image name is empty")
        other = self.stage_named(name)
        if other is not None and other.index < stage.index:
            done = self.done[other.index]
            return StageState(
                copy.deepcopy(done.config),
                list(done.layers),
                done.base_fs,
                digest_of(["FROM stage", done.key]),
            )
        if name == "scratch":
            from shocker.oci.image_config import empty_config

            config = empty_config()
            config["config"] = {}
            return StageState(config, [], None, digest_of(["FROM scratch"]))
        from shocker.engine.commit import base_layers
        from shocker.engine.create import find_or_pull

        platform = self._platform(source)
        try:
            image = find_or_pull(self.store, self.settings, name, platform, self.reporter)
        except ShockerError as error:
            raise BuildError(f"{source.where()}: {error.message}") from None
        from shocker.engine.layered import made

        layers, fs = base_layers(self.store, made(self.store, image))
        if fs is None:
            fs = self.store.layout.image_rootfs(image.id)
        identity = [image.config, [layer.get("chain_id") for layer in layers]]
        config = copy.deepcopy(image.config)
        config.setdefault("config", {})
        return StageState(
            config, [] if not layers else list(layers), fs, digest_of(["FROM", identity])
        )

    def _platform(self, source: Instruction) -> str | None:
        """FROM --platform: this machine's platform (as `$BUILDPLATFORM` or written out),
        since every RUN step runs here; another one is refused rather than built wrongly."""
        flag = source.flag("platform")
        if flag is None:
            return None
        from shocker.oci.platform import host_platform, parse_platform

        text = expand(flag, self.global_args, self.escape)
        try:
            wanted = parse_platform(text)
        except ShockerError as error:
            raise BuildError(f"{source.where()}: {error.message}") from None
        host = host_platform()
        if (wanted.os, wanted.architecture, wanted.normalized_variant()) != (
            host.os,
            host.architecture,
            host.normalized_variant(),
        ):
            raise BuildError(
                f"{source.where()}: platform {wanted} is not this machine's ({host}); "
                "shocker builds only for the platform it runs on"
            )
        return str(wanted)

    def scope(self, state: StageState) -> dict[str, str]:
        """What words are expanded against: ARGs in scope, then ENV over them."""
        return {**state.args, **env_map(state.section())}

    def _instruction(self, state: StageState, metadata: Metadata, instruction: Instruction) -> None:
        keyword = instruction.keyword
        try:
            if keyword == "ARG":
                self._arg(state, instruction)
            elif keyword in METADATA_KEYWORDS:
                self._metadata(state, metadata, instruction)
            elif keyword == "WORKDIR":
                self._workdir(state, instruction)
            elif keyword == "RUN":
                self._run(state, instruction)
            elif keyword in ("COPY", "ADD"):
                from shocker.engine.build.copystep import copy_step

                copy_step(self, state, instruction)
            else:
                raise BuildError(f"{instruction.where()}: {keyword} is not allowed here")
        except BuildError as error:
            if error.message.startswith("Dockerfile"):
                raise
            raise BuildError(f"{instruction.where()}: {error.message}") from None

    def _arg(self, state: StageState, instruction: Instruction) -> None:
        for name, default in self._arg_words(instruction, self.scope(state)):
            if name in self.options.build_args:
                value = self.options.build_args[name]
            elif default is not None:
                value = default
            else:
                value = self.global_args.get(name, "")
            state.args[name] = value
        self.cached(state, instruction, ["ARG", instruction.text], None)

    def _metadata(self, state: StageState, metadata: Metadata, instruction: Instruction) -> None:
        env = self.scope(state)

        def change(config: dict[str, Any]) -> None:
            metadata.apply(instruction, config.setdefault("config", {}), env)

        if instruction.keyword == "CMD":
            metadata.cmd_set = True
        probe = copy.deepcopy(state.config)
        change(probe)  # the key holds the result, so expanded values count, not the text
        self.cached(
            state, instruction, ["META", instruction.text, probe.get("config")], None, change
        )

    def _workdir(self, state: StageState, instruction: Instruction) -> None:
        import posixpath

        if len(instruction.args) != 1:
            raise BuildError("WORKDIR takes one path")
        path = expand(instruction.args[0], self.scope(state), self.escape)
        previous = state.section().get("WorkingDir") or "/"
        path = posixpath.normpath(posixpath.join(previous, path))
        fs = state.fs(self.store)

        def change(config: dict[str, Any]) -> None:
            config.setdefault("config", {})["WorkingDir"] = path

        from shocker.engine.build.copying import is_dir_in, make_dir_in

        exists = fs is not None and is_dir_in(fs, path)
        writer = None if exists else (lambda root: make_dir_in(root, path))
        self.cached(state, instruction, ["WORKDIR", path, exists], writer, change)

    def _run_env(self, state: StageState) -> list[str]:
        env = env_map(state.section())
        extra = {k: v for k, v in state.args.items() if k not in env}
        for name in PROXY_ARGS:
            if name in self.options.build_args and name not in env:
                extra[name] = self.options.build_args[name]
        return [f"{k}={v}" for k, v in extra.items()]

    def _run_argv(self, state: StageState, instruction: Instruction) -> list[str]:
        shell = tuple(state.section().get("Shell") or DEFAULT_SHELL)
        if not instruction.heredocs:
            return command_form(instruction, shell)
        text = instruction.text.split(None, 1)[1] if " " in instruction.text else ""
        flags = " ".join(instruction.flags)
        if flags and text.startswith(flags):
            text = text[len(flags) :].lstrip()
        first = text.splitlines()[0].strip() if text else ""
        if (
            len(instruction.heredocs) == 1
            and first.lstrip("<-").strip("'\"") == instruction.heredocs[0].name
        ):
            return [*shell, instruction.heredocs[0].content]  # `RUN <<EOF`: the script itself
        return [*shell, text]  # the shell reads the here-documents itself

    def _run(self, state: StageState, instruction: Instruction) -> None:
        argv = self._run_argv(state, instruction)
        network = self.options.network
        flag_network = instruction.flag("network")
        if flag_network:
            network = {"default": network}.get(flag_network, flag_network)
        env = self._run_env(state)
        visible_args = sorted((k, v) for k, v in state.args.items())

        def runner(fs: Path | None) -> tuple[Path, Callable[[], None]]:
            from shocker.engine.build.runstep import remove_step, run_step

            if fs is None:
                raise BuildError("nothing to run on: the filesystem is empty (FROM scratch)")
            root, container = run_step(
                self.store,
                self.settings,
                rootfs=fs,
                config=state.config,
                argv=argv,
                env=env,
                network=network,
                where=instruction.where(),
            )
            return root, lambda: remove_step(self.store, container)

        self.cached(state, instruction, ["RUN", argv, visible_args], None, None, runner)

    # The cache.

    def cached(
        self,
        state: StageState,
        instruction: Instruction,
        key_parts: list[Any],
        writer: Callable[[Path], None] | None,
        change: Callable[[dict[str, Any]], None] | None = None,
        runner: Callable[[Path | None], tuple[Path, Callable[[], None]]] | None = None,
    ) -> None:
        """One step: reused when its key is cached (and its layers are still here), else
        done: `change` edits the config, `writer` writes into a snapshot, `runner` runs a
        container; a new layer is taken when either of the latter two ran."""
        key = digest_of([state.key, *key_parts])
        if not self.options.no_cache:
            entry = self.store.build_cache.get(key)
            if entry is not None and self._usable(entry.layers):
                self.say(f"--> Using cache {key[:12]}")
                state.config, state.layers, state.key = entry.config, entry.layers, key
                return
        config = copy.deepcopy(state.config)
        if change is not None:
            change(config)
        layers = list(state.layers)
        from shocker.oci.image_config import epoch_time, with_history
        from shocker.store.records import now

        created = epoch_time(self.options.epoch) if self.options.epoch is not None else now()
        created_by = (
            instruction.text
            if instruction.keyword != "RUN"
            else f"RUN {' '.join(self._run_argv(state, instruction))}"
        )
        if writer is None and runner is None:
            config = with_history(config, created, created_by, empty_layer=True)
        else:
            layer = self._layer(state, writer, runner)
            layers.append(layer)
            diff_ids = [str(entry["diff_id"]) for entry in layers]
            config = with_history(config, created, created_by, diff_ids)
        from shocker.store.buildcache import new_entry

        self.store.build_cache.put(
            new_entry(key, state.key, instruction.text.splitlines()[0], config, layers)
        )
        state.config, state.layers, state.key = config, layers, key
        self.say(f"--> {key[:12]}")

    def _usable(self, layers: list[dict[str, Any]]) -> bool:
        if not layers:
            return True
        top = layers[-1]
        return self.store.layers.has(str(top["chain_id"])) and all(
            self.store.blobs.has(str(layer["digest"]), int(layer["size"])) for layer in layers
        )

    def _layer(
        self,
        state: StageState,
        writer: Callable[[Path], None] | None,
        runner: Callable[[Path | None], tuple[Path, Callable[[], None]]] | None,
    ) -> dict[str, Any]:
        from shocker.store import btrfs
        from shocker.store.layerdiff import PROVIDED, create_layer
        from shocker.store.layers import scratch_path

        parent = state.fs(self.store)
        parent_chain = str(state.layers[-1]["chain_id"]) if state.layers else None
        if runner is not None:
            child, release = runner(parent)
            skipped = PROVIDED
        else:
            assert writer is not None
            child = scratch_path(self.store.layout, "build")
            if parent is None:
                btrfs.create_subvolume(child)
            else:
                btrfs.snapshot(parent, child)
            path = child

            def release() -> None:
                btrfs.delete_subvolume(path)

            skipped = frozenset()
        try:
            if writer is not None:
                writer(child)
            layer = create_layer(
                self.store, parent, parent_chain, child, self.options.epoch, skipped=skipped
            )
        finally:
            release()
        return layer.as_record()

    # The image.

    def _image(self, state: StageState) -> BuildResult:
        config = state.config
        key = state.key
        if self.options.labels:
            config = copy.deepcopy(config)
            section = config.setdefault("config", {})
            section["Labels"] = {**(section.get("Labels") or {}), **self.options.labels}
            key = digest_of([key, "LABELS", sorted(self.options.labels.items())])
            from shocker.store.buildcache import new_entry

            if self.store.build_cache.get(key) is None:
                self.store.build_cache.put(
                    new_entry(key, state.key, "--label", config, state.layers)
                )
        entry = self.store.build_cache.get(key)
        if entry is not None and entry.image_id and not self.options.no_cache:
            try:
                image = self.store.images.get(entry.image_id)
            except NotFound:
                image = None
            if image is not None and image.config == config and image.layers == state.layers:
                return BuildResult(image.id, True)
        fs = state.fs(self.store)
        image = self.store.images.add(
            rootfs_from=fs,
            reference=None,
            config=config,
            layers=state.layers,
            source="build",
        )
        self.store.build_cache.set_image(key, image.id)
        return BuildResult(image.id, False)


def build(
    store: Store, settings: Settings, options: BuildOptions, reporter: Any, say: Say
) -> BuildResult:
    """Run the build; BuildError (one line: `Dockerfile:N: INSTRUCTION: why`) on failure.

    The whole build holds the `gc` lock shared: a layer it made is named by a cache entry
    only after the step, and a cache hit must find its layers still there.
    """
    from shocker.store.gc import creating

    builder = Builder(store, settings, options, reporter, say)
    with creating(store.layout):
        return builder.build()
