"""`shocker push` to the suite's registries, with skopeo and podman as the judges of what
arrived: the layers, the files (a deletion as a whiteout), the manifest digest."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.assertions import assert_one_line_error
from tests.support.catalog import ImageSet
from tests.support.podman import private_podman, skopeo_inspect
from tests.support.registry import AuthRegistry, Registry
from tests.support.shocker import Result, Shocker
from tests.support.tcpproxy import tcp_proxy

PUSHED = re.compile(r"^Pushed: (\S+)@(sha256:[0-9a-f]{64})$")
LAYER_LINE = re.compile(r"^(Pushing layer [0-9a-f]{12,64}|Layer [0-9a-f]{12,64} already exists)$")


def push_lines(result: Result) -> tuple[list[str], str, str]:
    """(the per-layer lines, the pushed name, the manifest digest), checking the format."""
    lines = result.lines
    assert lines, str(result)
    last = PUSHED.match(lines[-1])
    assert last is not None, str(result)
    for line in lines[:-1]:
        assert LAYER_LINE.match(line), str(result)
    return lines[:-1], last.group(1), last.group(2)


def raw_manifest(reference: str, creds: str | None = None) -> dict[str, object]:
    return skopeo_inspect(reference, "--raw", creds=creds)


def layer_digests(manifest: dict[str, object]) -> list[str]:
    layers = manifest["layers"]
    assert isinstance(layers, list)
    return [str(layer["digest"]) for layer in layers]


def commit_with_changes(shocker: Shocker, base: str, target: str) -> None:
    """A container of `base` that adds /fresh and deletes /etc/issue, committed as `target`."""
    container = shocker(
        "run", "-d", base, "sh", "-c", "echo fresh > /fresh && rm /etc/issue && sleep 60"
    ).check()
    cid = container.out.strip().splitlines()[-1]
    try:
        deadline = time.monotonic() + 20
        while shocker("exec", cid, "test", "-e", "/fresh").rc != 0:
            assert time.monotonic() < deadline, "the container never wrote /fresh"
            time.sleep(0.1)
        shocker("commit", cid, target).check()
    finally:
        shocker("rm", "-f", cid).check()


def test_a_committed_container_reaches_podman_with_its_deletion(
    fresh_shocker: Shocker, images: ImageSet, registry: Registry
) -> None:
    fresh_shocker("pull", images.layered.ref).check()
    target = f"{registry.host}/pushed/committed:1"
    commit_with_changes(fresh_shocker, images.layered.ref, target)

    result = fresh_shocker("push", target).check()

    lines, name, digest = push_lines(result)
    assert name == f"{registry.host}/pushed/committed"
    assert len(lines) == len(images.layered.layer_digests) + 1
    # The base layers came from test/layered on this registry: mounted, not sent.
    assert all(line.endswith("already exists") for line in lines[:-1]), str(result)
    assert lines[-1].startswith("Pushing layer"), str(result)
    manifest = raw_manifest(target)
    assert layer_digests(manifest)[:-1] == list(images.layered.layer_digests)
    assert skopeo_inspect(target)["Digest"] == digest
    with private_podman() as podman:
        podman("pull", "--quiet", "--tls-verify=false", target)
        out = podman.run(target, "sh", "-c", "cat /fresh; test -e /etc/issue || echo gone")
        assert out.split() == ["fresh", "gone"]
        assert podman.run(target, "cat", "/data/keep") == "keep\n"


def test_a_second_push_uploads_nothing(
    fresh_shocker: Shocker, images: ImageSet, registry: Registry
) -> None:
    fresh_shocker("pull", images.busybox.ref).check()
    target = f"{registry.host}/pushed/twice:1"
    fresh_shocker("tag", images.busybox.ref, target).check()
    first = push_lines(fresh_shocker("push", target).check())

    again = fresh_shocker("push", target).check()

    lines, _, digest = push_lines(again)
    assert lines and all(line.endswith("already exists") for line in lines), str(again)
    assert digest == first[2]


def test_a_pulled_image_keeps_its_layers_and_media_types(
    fresh_shocker: Shocker, images: ImageSet, registry: Registry
) -> None:
    fresh_shocker("pull", images.busybox.ref).check()
    target = f"{registry.host}/pushed/copy-of-busybox:2"
    fresh_shocker("tag", "busybox", target).check()

    push_lines(fresh_shocker("push", target).check())

    manifest = raw_manifest(target)
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert layer_digests(manifest) == list(images.busybox.layer_digests)


def test_an_init_image_is_one_layer_podman_runs(
    fresh_shocker: Shocker, images: ImageSet, registry: Registry, tmp_path: Path
) -> None:
    busybox = fresh_shocker("pull", images.busybox.ref).check().created_id()
    source = tmp_path / "rootfs"
    subprocess.run(["cp", "-a", f"{fresh_shocker.root / busybox}/.", str(source)], check=True)
    (source / "hello").write_text("from init\n")
    target = f"{registry.host}/pushed/init:1"
    fresh_shocker("init", str(source), "--name", target).check()

    lines, _, _ = push_lines(fresh_shocker("push", target).check())

    assert len(lines) == 1 and lines[0].startswith("Pushing layer")
    assert len(layer_digests(raw_manifest(target))) == 1
    with private_podman() as podman:
        podman("pull", "--quiet", "--tls-verify=false", target)
        assert podman.run(target, "cat", "/hello") == "from init\n"


def test_unqualified_names_go_to_shocker_registry(
    fresh_shocker: Shocker, images: ImageSet, registry: Registry
) -> None:
    fresh_shocker("pull", images.busybox.ref).check()
    fresh_shocker("tag", "busybox", "mine/plain:3").check()

    _, name, digest = push_lines(fresh_shocker("push", "mine/plain:3").check())

    assert name == "mine/plain"
    assert skopeo_inspect(f"{registry.host}/mine/plain:3")["Digest"] == digest


@pytest.mark.parametrize("kind", ["basic", "token"])
def test_push_with_credentials_never_shows_the_password(
    fresh_shocker: Shocker,
    images: ImageSet,
    basic_registry: AuthRegistry,
    token_registry: AuthRegistry,
    kind: str,
) -> None:
    auth = basic_registry if kind == "basic" else token_registry
    host = auth.registry.host
    fresh_shocker("pull", images.busybox.ref).check()
    target = f"{host}/private/pushed-{kind}:1"
    fresh_shocker("tag", "busybox", target).check()
    anonymous = fresh_shocker("push", target)
    assert_one_line_error(anonymous, host)
    wrong = fresh_shocker.with_env(
        SHOCKER_REGISTRY_USER=auth.user, SHOCKER_REGISTRY_PASS="not-" + auth.password
    )("push", target)
    assert_one_line_error(wrong, host)
    assert auth.password not in wrong.out + wrong.err

    result = fresh_shocker.with_env(
        SHOCKER_REGISTRY_USER=auth.user, SHOCKER_REGISTRY_PASS=auth.password
    )("push", target).check()

    _, _, digest = push_lines(result)
    assert auth.password not in result.out + result.err
    creds = f"{auth.user}:{auth.password}"
    assert skopeo_inspect(target, creds=creds)["Digest"] == digest


def test_pushing_a_missing_image_is_one_line(fresh_shocker: Shocker, registry: Registry) -> None:
    result = fresh_shocker("push", f"{registry.host}/nothing/here:1")

    assert_one_line_error(result, f"No image named '{registry.host}/nothing/here:1' exists")


def test_push_of_an_id_asks_for_a_name(fresh_shocker: Shocker, images: ImageSet) -> None:
    image_id = fresh_shocker("pull", images.busybox.ref).check().created_id()

    assert_one_line_error(fresh_shocker("push", image_id), "push needs a name", "shocker tag")


def big_image(shocker: Shocker, tmp_path: Path, target: str, mb: int) -> None:
    """An init image holding `mb` MiB of random bytes (a blob large enough to go in chunks)."""
    source = tmp_path / f"big-{mb}"
    source.mkdir()
    (source / "blob").write_bytes(os.urandom(mb << 20))
    shocker("init", str(source), "--name", target).check()


def test_a_dropped_connection_mid_blob_is_recovered(
    fresh_shocker: Shocker, registry: Registry, tmp_path: Path
) -> None:
    size = 24 << 20  # above the monolithic limit: chunked
    with tcp_proxy(registry.port, drop_after=size // 2) as proxy:
        target = f"{proxy.host}/pushed/resumed:1"
        big_image(fresh_shocker, tmp_path, target, 24)

        result = fresh_shocker("push", target).check()

        _, _, digest = push_lines(result)
        assert proxy.dropped == 1
    pushed = f"{registry.host}/pushed/resumed:1"
    assert skopeo_inspect(pushed)["Digest"] == digest
    layer = fresh_shocker("inspect", "--type", "image", target).check().out
    assert layer_digests(raw_manifest(pushed))[0] in layer


def test_a_push_killed_mid_blob_leaves_the_tag_as_it_was(
    fresh_shocker: Shocker, images: ImageSet, registry: Registry, tmp_path: Path
) -> None:
    with tcp_proxy(registry.port, upstream_bytes_per_s=4 << 20) as proxy:
        target = f"{proxy.host}/pushed/killed:1"
        fresh_shocker("pull", images.busybox.ref).check()
        fresh_shocker("tag", "busybox", target).check()
        _, _, before = push_lines(fresh_shocker("push", target).check())
        big_image(fresh_shocker, tmp_path, target, 20)  # the tag moves to the big image here
        sent = proxy.upstream_bytes

        process = fresh_shocker.popen("push", target)
        try:
            assert proxy.wait_for_upstream(sent + (4 << 20)), "the upload never started"
        finally:
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=30)

    assert skopeo_inspect(f"{registry.host}/pushed/killed:1")["Digest"] == before
