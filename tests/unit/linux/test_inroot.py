"""Container paths resolve and are created under the rootfs, whatever symlinks it holds:
the kernel's openat2 and the O_PATH walk give the same answers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shocker.linux import inroot


@pytest.fixture(params=[True, False], ids=["openat2", "walk"])
def kernel(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def root(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    fd = inroot.open_root(str(tmp_path))
    yield tmp_path, fd
    os.close(fd)


def resolve(root_fd: int, path: str, kernel: bool, create: inroot.Create = None) -> str:
    fd = inroot.open_in_root(root_fd, path, create=create, kernel_resolve=kernel)
    try:
        return str(Path(inroot.fd_path(fd)).readlink())
    finally:
        os.close(fd)


def test_plain_path_resolves_under_root(root: tuple[Path, int], kernel: bool) -> None:
    path, fd = root
    (path / "etc").mkdir()
    (path / "etc" / "hosts").touch()
    assert resolve(fd, "/etc/hosts", kernel) == f"{path}/etc/hosts"


def test_absolute_symlink_is_followed_inside_root(root: tuple[Path, int], kernel: bool) -> None:
    path, fd = root
    (path / "real").mkdir()
    (path / "real" / "hosts").touch()
    (path / "etc").symlink_to("/real")
    assert resolve(fd, "/etc/hosts", kernel) == f"{path}/real/hosts"


def test_dotdot_cannot_climb_above_root(root: tuple[Path, int], kernel: bool) -> None:
    path, fd = root
    (path / "tmp").mkdir()
    (path / "escape").symlink_to("../../../../tmp")
    assert resolve(fd, "/escape", kernel) == f"{path}/tmp"
    assert resolve(fd, "/../../tmp", kernel) == f"{path}/tmp"
    assert resolve(fd, "/..", kernel) == str(path)


def test_symlink_loop_is_refused(root: tuple[Path, int], kernel: bool) -> None:
    path, fd = root
    (path / "a").symlink_to("b")
    (path / "b").symlink_to("a")
    with pytest.raises(OSError, match="symbolic links"):
        resolve(fd, "/a/x", kernel)


def test_a_file_in_the_middle_is_not_a_directory(root: tuple[Path, int], kernel: bool) -> None:
    path, fd = root
    (path / "file").touch()
    with pytest.raises(NotADirectoryError):
        resolve(fd, "/file/x", kernel, create="dir")


def test_missing_directories_are_created_inside_root_through_links(
    root: tuple[Path, int], kernel: bool
) -> None:
    # The CVE-2021-30465 shape: a directory that became a symlink to "/".
    path, fd = root
    (path / "vol").mkdir()
    (path / "vol" / "b").symlink_to("/")
    name = f"inroot-test-{os.getpid()}"
    assert resolve(fd, f"/vol/b/{name}/c", kernel, create="dir") == f"{path}/{name}/c"
    assert (path / name / "c").is_dir()
    assert not Path(f"/{name}").exists()


def test_a_missing_file_is_created_empty(root: tuple[Path, int], kernel: bool) -> None:
    path, fd = root
    assert resolve(fd, "/etc/resolv.conf", kernel, create="file") == f"{path}/etc/resolv.conf"
    assert (path / "etc" / "resolv.conf").read_bytes() == b""
    assert (path / "etc").is_dir()


def test_a_dangling_link_is_created_at_its_target_inside_root(
    root: tuple[Path, int], kernel: bool
) -> None:
    path, fd = root
    (path / "run").symlink_to("/var/run")
    assert resolve(fd, "/run/x", kernel, create="dir") == f"{path}/var/run/x"


def test_magic_links_never_leave_the_root(root: tuple[Path, int], kernel: bool) -> None:
    # A link to the host's /proc/self/root is read inside the root, where /proc is missing.
    path, fd = root
    (path / "p").symlink_to("/proc/self/root")
    with pytest.raises(FileNotFoundError):
        resolve(fd, "/p/etc", kernel)


def test_open_parent_names_the_last_component(root: tuple[Path, int]) -> None:
    path, fd = root
    parent, name = inroot.open_parent(fd, "/dev/pts/ptmx")
    try:
        assert (str(Path(inroot.fd_path(parent)).readlink()), name) == (f"{path}/dev/pts", "ptmx")
    finally:
        os.close(parent)
    with pytest.raises(OSError):
        inroot.open_parent(fd, "/")


components = st.sampled_from(["a", "b", "..", ".", "link", "abs", "x", "loop"])


@pytest.fixture(scope="module")
def hostile_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    root = tmp_path_factory.mktemp("root")
    (root / "a" / "b").mkdir(parents=True)
    (root / "x").touch()
    (root / "a" / "link").symlink_to("../../..")
    (root / "a" / "abs").symlink_to("/a/../../..")
    (root / "loop").symlink_to("loop")
    fd = inroot.open_root(str(root))
    yield str(root), fd
    os.close(fd)


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(components, max_size=8))
def test_both_resolvers_agree_and_stay_under_root(
    hostile_root: tuple[str, int], parts: list[str]
) -> None:
    root, fd = hostile_root
    path = "/" + "/".join(parts)
    answers = []
    for kernel in (True, False):
        try:
            answers.append(resolve(fd, path, kernel))
        except OSError as error:
            answers.append(f"errno {error.errno}")
    assert answers[0] == answers[1]
    if not answers[0].startswith("errno"):
        assert answers[0] == root or answers[0].startswith(root + "/")
