"""Session fixtures for integration tests: a loop btrfs for SHOCKER_ROOT, real registries
(open, Basic, token) holding images built here, session-specific bridge/subnet/cgroup/iptables
names, a CLI runner with that environment, and a leak guard around every test."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import leaks
from tests.support.btrfs import loop_btrfs, remove_tree
from tests.support.catalog import VICTIM, VICTIM_CONTENT, ImageSet, publish_test_images
from tests.support.images import push_busybox
from tests.support.prereqs import integration_missing, require
from tests.support.push import Pusher
from tests.support.registry import AuthRegistry, Registry, running_registry
from tests.support.shocker import Shocker, base_environment


@pytest.fixture(scope="session")
def prerequisites() -> None:
    missing = integration_missing()
    require(not missing, "integration tests need: " + "; ".join(missing))


@pytest.fixture(scope="session", autouse=True)
def restore_ip_forwarding() -> Iterator[None]:
    """Bridge set-up turns IPv4 forwarding on (as Docker does); leave the host as found."""
    forwarding = Path("/proc/sys/net/ipv4/ip_forward")
    try:
        was = forwarding.read_text()
    except OSError:
        yield
        return
    try:
        yield
    finally:
        if os.geteuid() == 0:
            forwarding.write_text(was)


@pytest.fixture(scope="session")
def session_tag() -> str:
    """4 hex digits naming this session's bridge, chains and cgroup parent."""
    return secrets.token_hex(2)


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory, prerequisites: None) -> Path:
    return tmp_path_factory.mktemp("shocker")


@pytest.fixture(scope="session")
def btrfs_mount(session_dir: Path) -> Iterator[Path]:
    """A btrfs filesystem for the whole session (sparse, grows as used)."""
    with loop_btrfs(session_dir / "btrfs", size="8G") as mount:
        yield mount


def _free_subnet(tag: str) -> str:
    """10.213.X.1/24 with X chosen so no interface of this host already uses it."""
    used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    start = int(tag, 16) % 256
    for offset in range(256):
        candidate = ipaddress.ip_network(f"10.213.{(start + offset) % 256}.0/24")
        taken = any(
            ipaddress.ip_interface(word).ip in candidate
            for line in used.splitlines()
            for word in line.split()
            if word.count(".") == 3 and "/" in word
        )
        if not taken:
            return f"10.213.{candidate.network_address.packed[2]}.1/24"
    raise RuntimeError("no free 10.213.x.0/24 subnet on this host")


@pytest.fixture(scope="session")
def leak_scope(session_dir: Path, btrfs_mount: Path, session_tag: str) -> Iterator[leaks.Scope]:
    scope = leaks.Scope(
        paths=(session_dir,),
        keep_mounts=(btrfs_mount,),
        bridge=f"shkt{session_tag}",
        chain_prefix=f"SHKT{session_tag.upper()}",
        cgroup_parent=f"shocker-test-{session_tag}",
    )
    try:
        yield scope
    finally:
        leaks.clean_session(scope)


@pytest.fixture(scope="session")
def registry(session_dir: Path, prerequisites: None) -> Iterator[Registry]:
    """An open docker-registry on 127.0.0.1 (no auth)."""
    with running_registry(session_dir / "registry-open") as running:
        yield running


@pytest.fixture(scope="session")
def canary(session_dir: Path) -> Path:
    """A host directory hostile layers aim at; its content must never change."""
    directory = session_dir / "canary"
    directory.mkdir()
    (directory / VICTIM).write_text(VICTIM_CONTENT)
    return directory


@pytest.fixture(scope="session")
def images(registry: Registry, canary: Path) -> ImageSet:
    """The session's test images, pushed to `registry` (names as SHOCKER_REGISTRY users type)."""
    with Pusher(registry.url) as pusher:
        return publish_test_images(pusher, canary)


@pytest.fixture(scope="session")
def pusher(registry: Registry) -> Iterator[Pusher]:
    """For tests that push their own images to the open registry (use unique names)."""
    with Pusher(registry.url) as client:
        yield client


@pytest.fixture(scope="session")
def basic_registry(session_dir: Path) -> Iterator[AuthRegistry]:
    """docker-registry with htpasswd (HTTP Basic); `private/busybox` pushed."""
    with running_registry(session_dir / "registry-basic", "basic") as running:
        assert running.credentials is not None
        creds = running.credentials
        with Pusher(running.url, (creds.user, creds.password)) as client:
            private = push_busybox(client, "private/busybox")
        yield AuthRegistry(running, creds.user, creds.password, private, None)


@pytest.fixture(scope="session")
def token_registry(session_dir: Path) -> Iterator[AuthRegistry]:
    """docker-registry with `auth: token` and a token realm: `private/busybox` needs
    credentials, `public/busybox` may be pulled anonymously."""
    with running_registry(session_dir / "registry-token", "token") as running:
        assert running.credentials is not None
        creds = running.credentials
        with Pusher(running.url, (creds.user, creds.password)) as client:
            private = push_busybox(client, "private/busybox")
            public = push_busybox(client, "public/busybox")
        yield AuthRegistry(running, creds.user, creds.password, private, public)


@pytest.fixture(scope="session")
def session_env(
    btrfs_mount: Path,
    session_dir: Path,
    registry: Registry,
    leak_scope: leaks.Scope,
    session_tag: str,
) -> dict[str, str]:
    """The environment every CLI call gets: nothing of the machine's own shocker is touched."""
    docker_config = session_dir / "docker-config"
    docker_config.mkdir(exist_ok=True)
    (docker_config / "config.json").write_text(json.dumps({"auths": {}}))
    root = btrfs_mount / "root"
    root.mkdir(exist_ok=True)
    # Subordinate ids of the session's own (`shocker setup` adds to these, not the host's).
    for name in ("subuid", "subgid"):
        (session_dir / name).touch()
    return {
        **base_environment(),
        "SHOCKER_ROOT": str(root),
        "SHOCKER_SUBUID": str(session_dir / "subuid"),
        "SHOCKER_SUBGID": str(session_dir / "subgid"),
        "SHOCKER_REGISTRY": registry.host,
        "SHOCKER_BRIDGE": leak_scope.bridge,
        "SHOCKER_SUBNET": _free_subnet(session_tag),
        "SHOCKER_CGROUP_PARENT": leak_scope.cgroup_parent,
        "SHOCKER_CHAIN_PREFIX": leak_scope.chain_prefix,
        "DOCKER_CONFIG": str(docker_config),
    }


@pytest.fixture
def shocker(session_env: dict[str, str], images: ImageSet) -> Shocker:
    """The CLI with the session's environment; SHOCKER_ROOT is shared by the whole session."""
    return Shocker(session_env)


@pytest.fixture
def fresh_shocker(
    session_env: dict[str, str], images: ImageSet, btrfs_mount: Path
) -> Iterator[Shocker]:
    """The CLI with an empty SHOCKER_ROOT of its own (on the session's btrfs), removed after."""
    root = btrfs_mount / f"root-{secrets.token_hex(4)}"
    root.mkdir()
    try:
        yield Shocker(session_env).with_env(SHOCKER_ROOT=str(root))
    finally:
        remove_tree(root)


@pytest.fixture(scope="session")
def busybox_id(session_env: dict[str, str], images: ImageSet) -> str:
    """busybox pulled once into the session's SHOCKER_ROOT; its image id."""
    result = Shocker(session_env)("pull", images.busybox.ref).check()
    for line in result.lines:
        if line.startswith("Created: "):
            return line.split()[1]
    # Already held: the up-to-date line ends with the id.
    return result.lines[-1].split()[-1]


@pytest.fixture(autouse=True)
def leak_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test that leaves a mount, veth, netns, rule, cgroup, loop device or process."""
    if "leak_scope" not in request.fixturenames and "session_env" not in request.fixturenames:
        yield
        return
    scope: leaks.Scope = request.getfixturevalue("leak_scope")
    before = leaks.snapshot(scope)
    yield
    leaked = leaks.new_since(before, scope)
    if leaked:
        pytest.fail(f"{request.node.nodeid} left behind:\n{leaks.describe(leaked)}", pytrace=False)
