"""Untrusted documents: image references, manifests and indexes, image configs, seccomp
profiles. Whatever arrives, the answer is a parsed value or one ShockerError with a
one-line message, never another exception."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shocker.errors import ShockerError
from shocker.oci.image_config import ImageConfig
from shocker.oci.manifest import Index, check_image_manifest, parse_manifest
from shocker.oci.reference import parse_reference
from shocker.oci.seccomp_profile import Host, parse_profile, resolve
from shocker.runtime.capabilities import DEFAULT_CAPABILITIES
from tests.unit.fuzz.budget import fuzz

SCALARS = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text()
JSON: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)


def one_clear_error(error: ShockerError) -> None:
    assert error.message and "\n" not in error.message, repr(error.message)


def mutate(document: Any, draw: Callable[[st.SearchStrategy[Any]], Any]) -> Any:
    """The document with values here and there replaced by arbitrary JSON."""
    if isinstance(document, dict):
        result = {}
        for key, value in document.items():
            choice = draw(st.integers(0, 9))
            if choice == 0:
                continue  # dropped
            result[key] = draw(JSON) if choice == 1 else mutate(value, draw)
        return result
    if isinstance(document, list):
        return [draw(JSON) if draw(st.integers(0, 7)) == 0 else mutate(v, draw) for v in document]
    return draw(JSON) if draw(st.integers(0, 5)) == 0 else document


REFERENCE_TEXT = st.text(max_size=80) | st.from_regex(
    r"\A([a-z0-9.-]+(:[0-9]{1,6})?/)?[a-z0-9._/-]{0,40}(:[\w.-]{0,20})?(@sha256:[0-9a-f]{0,70})?\Z"
)


@fuzz
@given(text=REFERENCE_TEXT)
def test_references(text: str) -> None:
    try:
        ref = parse_reference(text)
    except ShockerError as error:
        one_clear_error(error)
        return
    # What it prints parses back to the same name.
    assert parse_reference(ref.familiar()).familiar() == ref.familiar()


LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MANIFEST = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 7,
               "digest": "sha256:" + "a" * 64},
    "layers": [{"mediaType": LAYER, "size": 100, "digest": "sha256:" + "b" * 64,
                "urls": ["https://example.invalid/x"]}],
    "annotations": {"k": "v"},
}  # fmt: skip
INDEX = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [{"mediaType": MANIFEST["mediaType"], "size": 10, "digest": "sha256:" + "c" * 64,
                   "platform": {"architecture": "amd64", "os": "linux", "variant": "v8"}}],
}  # fmt: skip


@st.composite
def manifests(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["manifest", "index", "arbitrary", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "arbitrary":
        return json.dumps(draw(JSON)).encode()
    return json.dumps(mutate(MANIFEST if kind == "manifest" else INDEX, draw)).encode()


@fuzz
@given(data=manifests(), content_type=st.none() | st.sampled_from([
    "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json", "text/html"]))  # fmt: skip
def test_manifests(data: bytes, content_type: str | None) -> None:
    try:
        parsed = parse_manifest(data, content_type)
        if not isinstance(parsed, Index):
            check_image_manifest(parsed)
    except ShockerError as error:
        one_clear_error(error)


CONFIG = {
    "architecture": "amd64",
    "os": "linux",
    "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"], "Entrypoint": None, "WorkingDir": "/w",
               "User": "1:2", "ExposedPorts": {"80/tcp": {}}, "Labels": {"a": "b"},
               "StopSignal": "SIGTERM"},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "d" * 64]},
    "history": [{"created_by": "x"}],
}  # fmt: skip


@fuzz
@given(data=st.data())
def test_image_configs(data: st.DataObject) -> None:
    document = data.draw(st.sampled_from(["mutated", "arbitrary", "bytes"]))
    if document == "bytes":
        raw: bytes | dict[str, Any] = data.draw(st.binary(max_size=200))
    elif document == "arbitrary":
        raw = json.dumps(data.draw(JSON)).encode()
    else:
        raw = json.dumps(mutate(CONFIG, data.draw)).encode()
    try:
        ImageConfig.from_json(raw)
    except ShockerError as error:
        one_clear_error(error)


HOST = Host(arch="amd64", kernel=(6, 1))
PROFILE = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 1,
    "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
    "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
         "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"name": "ptrace", "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
         "includes": {"minKernel": "4.8", "arches": ["amd64"]}},
    ],
}  # fmt: skip


@fuzz
@given(data=st.data())
def test_seccomp_profiles(data: st.DataObject) -> None:
    document = data.draw(st.sampled_from(["mutated", "arbitrary"]))
    profile_json = mutate(PROFILE, data.draw) if document == "mutated" else data.draw(JSON)
    try:
        resolve(parse_profile(profile_json), DEFAULT_CAPABILITIES, HOST)
    except ShockerError as error:
        one_clear_error(error)


DOCKERFILE_WORDS = st.sampled_from([
    "FROM", "RUN", "CMD", "ENV", "ARG", "COPY", "ADD", "WORKDIR", "USER", "LABEL", "EXPOSE",
    "ENTRYPOINT", "ONBUILD", "SHELL", "HEALTHCHECK", "STOPSIGNAL", "VOLUME", "MAINTAINER",
    "from", "bogus", "busybox", "AS", "base", "--from=base", "--chown=1:1", "--mount=x",
    '["sh", "-c"]', '["unclosed', "a=b", "$X", "${X:-y}", "${", "\\", "#", "# escape=`", "'",
    '"', "<<EOF", "EOF", "\t", "/x", "..", "*",
])  # fmt: skip
DOCKERFILE_LINES = st.lists(DOCKERFILE_WORDS, min_size=0, max_size=6).map(" ".join)


@fuzz
@given(
    lines=st.lists(DOCKERFILE_LINES | st.text(max_size=40), max_size=10),
    env=st.dictionaries(st.sampled_from(["X", "Y", "HOME"]), st.text(max_size=8), max_size=3),
)
def test_dockerfiles(lines: list[str], env: dict[str, str]) -> None:
    from shocker.engine.build.dockerfile import parse
    from shocker.engine.build.words import expand

    text = "\n".join(lines)
    try:
        parsed = parse(text)
    except ShockerError as error:
        one_clear_error(error)
        return
    for stage in parsed.stages:
        for instruction in stage.instructions:
            for arg in instruction.args:
                try:
                    expand(arg, env, parsed.escape)
                except ShockerError as error:
                    one_clear_error(error)
