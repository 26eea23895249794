from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shocker.errors import UsageError
from shocker.oci.reference import HUB_REGISTRY, Reference, parse_reference

DIGEST = "sha256:" + "ab" * 32
HUB = HUB_REGISTRY


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest", "familiar"),
    [
        ("alpine", HUB, "library/alpine", "latest", None, "alpine:latest"),
        ("alpine:3.20", HUB, "library/alpine", "3.20", None, "alpine:3.20"),
        ("library/alpine", HUB, "library/alpine", "latest", None, "alpine:latest"),
        ("myorg/app:1.0", HUB, "myorg/app", "1.0", None, "myorg/app:1.0"),
        ("docker.io/library/busybox", HUB, "library/busybox", "latest", None, "busybox:latest"),
        ("index.docker.io/busybox:1", HUB, "library/busybox", "1", None, "busybox:1"),
        (
            "127.0.0.1:5000/x/y:tag",
            "127.0.0.1:5000",
            "x/y",
            "tag",
            None,
            "127.0.0.1:5000/x/y:tag",
        ),
        ("localhost/app", "localhost", "app", "latest", None, "localhost/app:latest"),
        ("quay.io/a/b/c", "quay.io", "a/b/c", "latest", None, "quay.io/a/b/c:latest"),
        (f"busybox@{DIGEST}", HUB, "library/busybox", None, DIGEST, f"busybox@{DIGEST}"),
        (f"busybox:1@{DIGEST}", HUB, "library/busybox", "1", DIGEST, f"busybox:1@{DIGEST}"),
        (
            f"host:5000/a@{DIGEST}",
            "host:5000",
            "a",
            None,
            DIGEST,
            f"host:5000/a@{DIGEST}",
        ),
        ("a_b-c__d/e.f--g", HUB, "a_b-c__d/e.f--g", "latest", None, "a_b-c__d/e.f--g:latest"),
        ("a.b/c", "a.b", "c", "latest", None, "a.b/c:latest"),
        ("[::1]:5000/img", "[::1]:5000", "img", "latest", None, "[::1]:5000/img:latest"),
    ],
)
def test_references_parse_into_registry_repository_tag_and_digest(
    text: str, registry: str, repository: str, tag: str | None, digest: str | None, familiar: str
) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        registry,
        repository,
        tag,
        digest,
    )
    assert ref.familiar() == familiar


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Busybox",
        "busybox:",
        "busybox:-tag",
        "a//b",
        "/a",
        "a/",
        "busybox@sha256:abc",
        "busybox@md5:" + "a" * 32,
        f"busybox@sha256:{'AB' * 32}",
        "a" * 256,
        "host:port:5000/x",
        "a..b",
        "-a",
        "busybox:" + "t" * 129,
    ],
)
def test_invalid_references_are_a_usage_error_of_one_line(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_reference(text)
    assert "\n" not in caught.value.message
    assert "invalid reference format" in caught.value.message


def test_uppercase_repository_error_says_names_are_lowercase() -> None:
    with pytest.raises(UsageError, match="lowercase"):
        parse_reference("myorg/MyApp")


def test_an_uppercase_first_component_is_a_registry_host() -> None:
    ref = parse_reference("MyHost/app")
    assert (ref.registry, ref.repository) == ("MyHost", "app")


def test_a_default_registry_replaces_docker_hub_and_keeps_the_library_prefix() -> None:
    ref = parse_reference("busybox", "127.0.0.1:5000")
    assert (ref.registry, ref.repository, ref.tag) == (
        "127.0.0.1:5000",
        "library/busybox",
        "latest",
    )
    assert ref.implicit_registry
    assert ref.familiar() == "busybox:latest"


def test_a_default_registry_leaves_multi_component_names_alone() -> None:
    ref = parse_reference("myorg/app:2", "mirror.local:5000")
    assert (ref.registry, ref.repository) == ("mirror.local:5000", "myorg/app")
    assert ref.familiar() == "myorg/app:2"


def test_an_explicit_registry_wins_over_the_default_and_shows_in_the_familiar_name() -> None:
    ref = parse_reference("127.0.0.1:6000/busybox", "127.0.0.1:5000")
    assert (ref.registry, ref.repository) == ("127.0.0.1:6000", "busybox")
    assert ref.familiar() == "127.0.0.1:6000/busybox:latest"


def test_an_explicit_library_path_on_another_registry_is_kept_in_the_familiar_name() -> None:
    assert parse_reference("host:5000/library/x").familiar() == "host:5000/library/x:latest"


def test_a_port_without_a_path_is_a_tag() -> None:
    ref = parse_reference("localhost:5000")
    assert (ref.repository, ref.tag) == ("library/localhost", "5000")


def test_with_repository_and_with_digest_keep_the_rest() -> None:
    ref = parse_reference("busybox:1", "h:1")
    assert ref.with_repository("busybox").familiar() == "busybox:1"
    assert ref.with_digest(DIGEST) == Reference("h:1", "library/busybox", None, DIGEST, True)


# No dots: a first component with a dot would name a registry host.
_component = st.from_regex(r"[a-z0-9]{1,6}(?:(?:_|__|-+)[a-z0-9]{1,4}){0,2}", fullmatch=True)
_tags = st.from_regex(r"\w[\w.-]{0,20}", fullmatch=True)


@given(
    registry=st.sampled_from([None, "127.0.0.1:5000", "reg.example.com"]),
    path=st.lists(_component, min_size=1, max_size=3),
    tag=st.one_of(st.none(), _tags),
)
def test_familiar_names_parse_back_to_the_same_reference(
    registry: str | None, path: list[str], tag: str | None
) -> None:
    text = "/".join(path) + (f":{tag}" if tag else "")
    if registry:
        text = f"{registry}/{text}"
    ref = parse_reference(text)
    assert parse_reference(ref.familiar()) == ref
