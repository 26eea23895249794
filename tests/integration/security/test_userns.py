"""User namespaces (--userns=auto): container root is an unprivileged host id range from
the subordinate ids, the image still looks owned by its own ids (an idmapped root), volumes
are not idmapped, and run, exec, network, ports, cgroups and commit keep working."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import socket
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest

from tests.integration.containers.conftest import wait_until
from tests.support.catalog import ImageSet
from tests.support.prereqs import require
from tests.support.shocker import Result, Shocker

BASE = 300000  # the test's own subordinate ids (never the host's /etc/subuid)
COUNT = 3 * 65536


@pytest.fixture
def subids(tmp_path: Path) -> tuple[Path, Path]:
    subuid = tmp_path / "subuid"
    subgid = tmp_path / "subgid"
    subuid.write_text(f"# test ids\nsomeone:100000:65536\ncontainers:{BASE}:{COUNT}\n")
    subgid.write_text(f"containers:{BASE}:{COUNT}\n")
    return subuid, subgid


@pytest.fixture
def auto(shocker: Shocker, subids: tuple[Path, Path]) -> Shocker:
    """The CLI with --userns=auto as its default (SHOCKER_USERNS) and the test's ids."""
    return shocker.with_env(
        SHOCKER_USERNS="auto", SHOCKER_SUBUID=str(subids[0]), SHOCKER_SUBGID=str(subids[1])
    )


@pytest.fixture
def started_ids(auto: Shocker) -> Iterator[list[str]]:
    """Containers a test started: all removed afterwards, even on failure."""
    ids: list[str] = []
    yield ids
    for container_id in ids:
        auto("rm", "-f", container_id)


@pytest.fixture
def started(auto: Shocker, started_ids: list[str]) -> Callable[..., str]:
    def start(*args: str) -> str:
        result = auto("run", "-d", *args).check()
        started_ids.append(result.lines[-1].strip())
        return started_ids[-1]

    return start


def host_range(text: str) -> tuple[int, int, int]:
    inside, host, count = (int(x) for x in text.split())
    return inside, host, count


def pid_of(shocker: Shocker, container_id: str) -> int:
    return int(json.loads(shocker("inspect", container_id).check().out)[0]["pid"])


def test_root_is_an_unprivileged_host_range_and_the_image_keeps_its_owners(
    auto: Shocker, busybox_id: str
) -> None:
    script = "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; stat -c %u:%g /bin/busybox /"
    lines = auto("run", "--rm", busybox_id, "sh", "-c", script).check().lines
    assert lines[:2] == ["0", "0"]
    uid_map, gid_map = host_range(lines[2]), host_range(lines[3])
    assert uid_map[0] == 0 and uid_map[1] >= BASE and uid_map[2] == 65536
    assert gid_map[0] == 0 and gid_map[1] >= BASE and gid_map[2] == 65536
    assert lines[4:] == ["0:0", "0:0"]
    # The store is untouched: the image's files are still root's on the host.
    image = auto.root / busybox_id / "bin/busybox"
    assert (image.stat().st_uid, image.stat().st_gid) == (0, 0)


def test_exec_joins_the_container_user_namespace(
    auto: Shocker, busybox_id: str, started: Callable[..., str]
) -> None:
    container = started(busybox_id, "sleep", "600")
    pid = pid_of(auto, container)
    status = Path(f"/proc/{pid}/status").read_text()
    uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
    assert uid >= BASE, status  # as the host sees it
    out = auto("exec", container, "sh", "-c", "id -u; readlink /proc/self/ns/user").check()
    assert out.lines[0] == "0"
    assert out.lines[1] == str(Path(f"/proc/{pid}/ns/user").readlink())
    assert out.lines[1] != str(Path("/proc/self/ns/user").readlink())
    created = auto("exec", container, "sh", "-c", "touch /made && stat -c %u:%g /made")
    assert created.check().out == "0:0\n"
    on_disk = auto.root / container / "made"
    assert (on_disk.stat().st_uid, on_disk.stat().st_gid) == (0, 0)


def test_ranges_never_overlap_and_are_released_at_removal(
    auto: Shocker, busybox_id: str, started: Callable[..., str]
) -> None:
    first = started(busybox_id, "sleep", "600")
    second = started(busybox_id, "sleep", "600")
    ranges = []
    for container in (first, second):
        line = auto("exec", container, "cat", "/proc/self/uid_map").check().out
        ranges.append(host_range(line))
    (_, a, size_a), (_, b, size_b) = ranges
    assert a + size_a <= b or b + size_b <= a, ranges
    allocations = json.loads((auto.root / ".shocker/userns.json").read_text())
    assert {first, second} <= set(allocations)
    auto("rm", "-f", first).check()
    allocations = json.loads((auto.root / ".shocker/userns.json").read_text())
    assert first not in allocations and second in allocations
    # A third fits in the freed range: the test's ids hold three.
    third = started(busybox_id, "sleep", "600")
    third_range = host_range(auto("exec", third, "cat", "/proc/self/uid_map").check().out)
    assert third_range[1] + third_range[2] <= b or b + size_b <= third_range[1]


def test_volumes_are_not_idmapped(auto: Shocker, busybox_id: str, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    locked = tmp_path / "locked"  # real root's, mode 0755
    locked.mkdir()
    locked.chmod(0o755)
    script = (
        "cat /proc/self/uid_map; touch /shared/mine; touch /shared/given; "
        "chown 1000:1000 /shared/given; touch /locked/no; echo locked $?"
    )
    result = auto(
        "run",
        "--rm",
        "-v",
        f"{shared}:/shared",
        "-v",
        f"{locked}:/locked",
        busybox_id,
        "sh",
        "-c",
        script,
    ).check()
    _, host, _ = host_range(result.lines[0])
    mine, given = (shared / "mine").stat(), (shared / "given").stat()
    assert (mine.st_uid, mine.st_gid) == (host, host)
    assert (given.st_uid, given.st_gid) == (host + 1000, host + 1000)
    assert result.lines[-1] == "locked 1"
    assert list(locked.iterdir()) == []


def test_a_new_named_volume_belongs_to_container_root(auto: Shocker, busybox_id: str) -> None:
    name = f"uvol{secrets.token_hex(3)}"
    try:
        script = "echo kept > /data/file && cat /data/file"
        run = auto("run", "--rm", "-v", f"{name}:/data", busybox_id, "sh", "-c", script)
        assert run.check().out == "kept\n"
    finally:
        auto("volume", "rm", name)


def test_mode_choice_and_bad_modes(auto: Shocker, shocker: Shocker, busybox_id: str) -> None:
    host = auto("run", "--rm", "--userns=host", busybox_id, "cat", "/proc/self/uid_map")
    assert host_range(host.check().out) == (0, 0, 4294967295)  # the explicit flag wins
    sized = auto("run", "--rm", "--userns=auto:size=2048", busybox_id, "cat", "/proc/self/uid_map")
    assert host_range(sized.check().out)[2] == 2048
    default = shocker("run", "--rm", busybox_id, "cat", "/proc/self/uid_map")
    assert host_range(default.check().out) == (0, 0, 4294967295)  # host without the variable
    for bad in ("--userns=bogus", "--userns=auto:size=10"):
        result = auto("run", "--rm", bad, busybox_id, "true")
        assert result.rc == 125
        assert len(result.err.splitlines()) == 1 and bad.partition("=")[2] in result.err
    env_bad = shocker.with_env(SHOCKER_USERNS="sometimes")("run", "--rm", busybox_id, "true")
    assert env_bad.rc == 125 and "sometimes" in env_bad.err
    assert len(env_bad.err.splitlines()) == 1


def test_no_subordinate_ids_is_one_clear_line(
    shocker: Shocker, busybox_id: str, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.write_text("someone:100000:65536\n")
    before = set(shocker("ps", "-aq").check().lines)
    result = shocker.with_env(SHOCKER_SUBUID=str(empty), SHOCKER_SUBGID=str(empty))(
        "run", "--rm", "--userns=auto", busybox_id, "true"
    )
    assert result.rc == 125
    assert len(result.err.splitlines()) == 1, result.err
    assert "shocker setup" in result.err and str(empty) in result.err
    assert set(shocker("ps", "-aq").check().lines) == before


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_network_ports_and_cgroup_under_userns(
    auto: Shocker, busybox_id: str, started: Callable[..., str], session_env: dict[str, str]
) -> None:
    port = free_port()
    script = "mkdir -p /www && echo from-userns > /www/index.html && exec httpd -f -p 80 -h /www"
    container = started("-p", f"{port}:80", busybox_id, "sh", "-c", script)

    def reachable() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                return bool(response.read() == b"from-userns\n")
        except OSError:
            return False

    assert wait_until(reachable)
    # Its network namespace belongs to its user namespace, as under podman and runc.
    pid = pid_of(auto, container)
    assert namespace_owner(f"/proc/{pid}/ns/net") == inode(f"/proc/{pid}/ns/user")
    assert namespace_owner(f"/proc/{pid}/ns/uts") == inode("/proc/self/ns/user")
    # The cgroup is delegated to container root's host id.
    _, host, _ = host_range(auto("exec", container, "cat", "/proc/self/uid_map").check().out)
    lines = Path(f"/proc/{pid_of(auto, container)}/cgroup").read_text().splitlines()
    parent = session_env.get("SHOCKER_CGROUP_PARENT", "shocker")
    roots = []
    for line in lines:
        _, controllers, relative = line.split(":", 2)
        if relative.endswith(f"/{parent}/{container}"):
            # v2: "0::PATH"; v1: one hierarchy per controller list ("cpu,cpuacct").
            mount = controllers.replace("name=", "")
            roots.append(Path("/sys/fs/cgroup", mount, relative.lstrip("/")))
    delegated = [p for p in roots if p.exists()]
    assert delegated, roots
    for directory in delegated:
        assert (directory.stat().st_uid, directory.stat().st_gid) == (host, host)
        assert (directory / "cgroup.procs").stat().st_uid == host


def inode(path: str) -> tuple[int, int]:
    info = Path(path).stat()
    return info.st_dev, info.st_ino


def namespace_owner(path: str) -> tuple[int, int]:
    """The user namespace that owns the namespace at `path` (ioctl_ns(2) NS_GET_USERNS)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        owner = fcntl.ioctl(fd, 0xB701)
    finally:
        os.close(fd)
    try:
        info = os.fstat(owner)
        return info.st_dev, info.st_ino
    finally:
        os.close(owner)


def test_ping_in_run_and_exec_as_under_the_default(
    auto: Shocker, busybox_id: str, started: Callable[..., str]
) -> None:
    # Container root holds CAP_NET_RAW over its own network namespace: busybox ping opens a
    # raw socket, with ICMP echo sockets closed to every group (the kernel's "1 0").
    # Only the session's own bridge is pinged.
    gateway = auto.env["SHOCKER_SUBNET"].split("/")[0]
    ping = ("ping", "-c", "1", "-W", "2", gateway)
    result = auto("run", "--rm", busybox_id, *ping)
    assert result.rc == 0 and "1 packets received" in result.out, str(result)
    container = started(busybox_id, "sleep", "600")
    pid = pid_of(auto, container)
    ping_range = subprocess.run(
        ["nsenter", f"--net=/proc/{pid}/ns/net", "cat", "/proc/sys/net/ipv4/ping_group_range"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert ping_range == ["1", "0"]
    result = auto("exec", container, *ping)
    assert result.rc == 0 and "1 packets received" in result.out, str(result)


def test_commit_of_a_userns_container_keeps_original_owners(
    auto: Shocker, shocker: Shocker, busybox_id: str
) -> None:
    name = f"uc{secrets.token_hex(3)}"
    tag = f"userns-commit-{secrets.token_hex(3)}:1"
    made = auto("run", "--name", name, busybox_id, "sh", "-c", "echo x > /committed")
    made.check()
    try:
        image = auto("commit", name, tag).check().created_id()
        try:
            check = shocker("run", "--rm", image, "stat", "-c", "%u:%g", "/committed")
            assert check.check().out == "0:0\n"
        finally:
            shocker("rmi", image)
    finally:
        auto("rm", "-f", name)


def test_build_steps_run_in_a_user_namespace_under_auto(
    auto: Shocker, shocker: Shocker, images: ImageSet, tmp_path: Path
) -> None:
    dockerfile = (
        f"FROM {images.busybox.ref}\n"
        "RUN cat /proc/self/uid_map > /map && stat -c %u:%g /bin/busybox > /owner\n"
    )
    (tmp_path / "Dockerfile").write_text(dockerfile)
    result = auto("build", "--network", "none", str(tmp_path), timeout_s=300).check()
    image = result.created_id()
    try:
        script = "cat /map /owner; stat -c %u:%g /map"
        lines = shocker("run", "--rm", "--network", "none", image, "sh", "-c", script).check()
        inside, host, _ = host_range(lines.lines[0])
        assert inside == 0 and host >= BASE
        assert lines.lines[1:] == ["0:0", "0:0"]  # the layer keeps the image's own ids
    finally:
        shocker("rmi", image)


def test_exec_refuses_a_userns_container_whose_pid_1_nested_a_user_namespace(
    auto: Shocker, busybox_id: str, started: Callable[..., str]
) -> None:
    # The user namespace check of exec (runtime/exec.py) under --userns=auto: pid 1 makes
    # a user namespace inside its own; an exec must not join that one.
    unconfined = ("--security-opt", "seccomp=unconfined")
    container = started(*unconfined, busybox_id, "unshare", "-U", "-r", "-m", "sleep", "600")
    result = auto("exec", container, "true")
    assert result.rc == 125, str(result)
    assert "moved to namespaces of its own" in result.err, str(result)


def crun_refuses_the_host(runtime: str, result: Result) -> bool:
    """crun 1.8 refuses any bundle while the host's cgroup2 mount holds a controller
    (see test_runtime_choice; other suites on the host may add one at any moment): its
    reason is then the one line."""
    if runtime != "crun" or result.rc == 0 or "hybrid mode" not in result.err:
        return False
    assert result.rc == 125 and len(result.err.strip().splitlines()) == 1, str(result)
    return True


@pytest.mark.parametrize("runtime", ["runc", "crun"])
def test_another_runtime_under_auto(
    auto: Shocker, busybox_id: str, started_ids: list[str], runtime: str
) -> None:
    # runc and crun get the user namespace in config.json and a root the engine idmapped.
    require(shutil.which(runtime) is not None, f"{runtime} (apt-get install {runtime})")
    script = "id -u; stat -c %u:%g /bin/busybox /; cat /proc/self/uid_map"
    result = auto("run", "--rm", "--runtime", runtime, busybox_id, "sh", "-c", script)
    if crun_refuses_the_host(runtime, result):
        return
    lines = result.check().lines
    assert lines[:3] == ["0", "0:0", "0:0"], str(result)
    inside, host, count = host_range(lines[3])
    assert inside == 0 and host >= BASE and count == 65536
    detached = auto("run", "-d", "--runtime", runtime, busybox_id, "sleep", "600")
    if crun_refuses_the_host(runtime, detached):
        return
    container = detached.check().lines[-1].strip()
    started_ids.append(container)
    pid = pid_of(auto, container)
    # On the host, the process runs as container root's mapped id.
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    uids = next(line.split()[1:] for line in status if line.startswith("Uid:"))
    assert len(set(uids)) == 1 and int(uids[0]) >= BASE, uids
    assert auto("exec", container, "id", "-u").check().out == "0\n"
    gateway = auto.env["SHOCKER_SUBNET"].split("/")[0]
    ping = auto("exec", container, "ping", "-c", "1", "-W", "2", gateway)
    assert ping.rc == 0 and "1 packets received" in ping.out, str(ping)
    # The store is untouched, and no idmapped mount is left on the host.
    image = auto.root / busybox_id / "bin/busybox"
    assert (image.stat().st_uid, image.stat().st_gid) == (0, 0)
    assert str(auto.root / container) not in Path("/proc/self/mountinfo").read_text()
