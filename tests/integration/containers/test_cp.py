"""`cp` through the CLI: files and directories both ways, running and stopped containers,
tar streams, owners, and paths that try to leave the container's root."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

from tests.support.shocker import Shocker


def cp_binary(shocker: Shocker, *args: str, data: bytes | None = None) -> bytes:
    completed = subprocess.run(
        shocker.argv("cp", *args),
        env=dict(shocker.env),
        input=data,
        stdin=None if data is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()
    return completed.stdout


def test_a_file_goes_into_a_running_container_owned_by_root_unless_archive(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str, tmp_path: Path
) -> None:
    container_id = run_detached(busybox_id, "sleep", "60")
    source = tmp_path / "note.txt"
    source.write_text("hello\n")
    os.chown(source, 1234, 5678)
    source.chmod(0o640)
    shocker("cp", str(source), f"{container_id}:/tmp/").check()
    inside = shocker("exec", container_id, "stat", "-c", "%u:%g %a", "/tmp/note.txt").check()
    assert inside.out == "0:0 640\n"
    assert shocker("exec", container_id, "cat", "/tmp/note.txt").check().out == "hello\n"
    shocker("cp", "-a", str(source), f"{container_id}:/tmp/kept.txt").check()
    kept = shocker("exec", container_id, "stat", "-c", "%u:%g", "/tmp/kept.txt").check()
    assert kept.out == "1234:5678\n"


def test_copies_reach_a_running_containers_tmpfs_mounts(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str, tmp_path: Path
) -> None:
    container_id = run_detached("--tmpfs", "/scratch", busybox_id, "sleep", "60")
    (tmp_path / "f").write_text("in tmpfs\n")
    shocker("cp", str(tmp_path / "f"), f"{container_id}:/scratch/f").check()
    assert shocker("exec", container_id, "cat", "/scratch/f").check().out == "in tmpfs\n"
    assert not (shocker.root / container_id / "scratch" / "f").exists()  # not the rootfs


def test_a_directory_comes_out_of_a_stopped_container(
    shocker: Shocker, busybox_id: str, containers: list[str], tmp_path: Path
) -> None:
    script = "mkdir -p /data/sub && echo a > /data/a && echo b > /data/sub/b && ln -s a /data/l"
    shocker("run", "--name", "cp-stopped", busybox_id, "sh", "-c", script).check()
    containers.append("cp-stopped")
    shocker("cp", "cp-stopped:/data", str(tmp_path)).check()
    assert (tmp_path / "data" / "a").read_text() == "a\n"
    assert (tmp_path / "data" / "sub" / "b").read_text() == "b\n"
    assert (tmp_path / "data" / "l").readlink() == Path("a")
    # A new name: the directory is created with the source's contents.
    shocker("cp", "cp-stopped:/data", str(tmp_path / "renamed")).check()
    assert (tmp_path / "renamed" / "sub" / "b").read_text() == "b\n"
    # SRC/. copies the contents into an existing directory.
    (tmp_path / "into").mkdir()
    shocker("cp", "cp-stopped:/data/.", str(tmp_path / "into")).check()
    assert sorted(p.name for p in (tmp_path / "into").iterdir()) == ["a", "l", "sub"]
    # A file onto a new name.
    shocker("cp", "cp-stopped:/data/a", str(tmp_path / "single")).check()
    assert (tmp_path / "single").read_text() == "a\n"


def test_tar_streams_on_stdout_and_stdin(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str
) -> None:
    container_id = run_detached(busybox_id, "sh", "-c", "echo x > /etc/made; sleep 60")
    assert shocker("exec", container_id, "cat", "/etc/made").check().out == "x\n"
    out = cp_binary(shocker, f"{container_id}:/etc/made", "-")
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        assert tar.getnames() == ["made"]
        extracted = tar.extractfile("made")
        assert extracted is not None and extracted.read() == b"x\n"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        payload = b"from a tar\n"
        info = tarfile.TarInfo("pkg/file")
        info.size, info.uid = len(payload), 4321
        tar.addfile(info, io.BytesIO(payload))
    cp_binary(shocker, "-", f"{container_id}:/tmp", data=buffer.getvalue())
    got = shocker("exec", container_id, "cat", "/tmp/pkg/file").check().out
    assert got == "from a tar\n"
    owner = shocker("exec", container_id, "stat", "-c", "%u", "/tmp/pkg/file").check()
    assert owner.out == "0\n"


def test_dot_dot_and_symlinks_in_the_container_never_leave_its_root(
    shocker: Shocker,
    run_detached: Callable[..., str],
    busybox_id: str,
    tmp_path: Path,
) -> None:
    host_dir = tmp_path / "host-only"
    host_dir.mkdir()
    container_id = run_detached(
        busybox_id,
        "sh",
        "-c",
        f"echo inside > /etc/marker; ln -s / /rootlink; mkdir -p /x {host_dir};"
        f" ln -s {host_dir} /x/hostlink;"
        " ln -s ../../../../../../ /x/up; sleep 60",
    )
    assert shocker("exec", container_id, "cat", "/etc/marker").check().out == "inside\n"
    # Reading: ".." stops at the container's root.
    shocker("cp", f"{container_id}:/../../../../etc/marker", str(tmp_path / "m1")).check()
    assert (tmp_path / "m1").read_text() == "inside\n"
    shocker("cp", f"{container_id}:/x/up/etc/marker", str(tmp_path / "m2")).check()
    assert (tmp_path / "m2").read_text() == "inside\n"
    host_only = tmp_path / "m1"  # exists on the host, not in the container
    missing = shocker("cp", f"{container_id}:/../../../..{host_only}", str(tmp_path / "m3"))
    assert missing.rc != 0 and "No such container:path" in missing.err
    # A symlink named as SRC is copied as the link, not as what it points to.
    shocker("cp", f"{container_id}:/rootlink", str(tmp_path / "link")).check()
    assert (tmp_path / "link").readlink() == Path("/")
    # Writing through a link to a host path lands inside the container.
    (tmp_path / "payload").write_text("payload\n")
    shocker("cp", str(tmp_path / "payload"), f"{container_id}:/x/hostlink/").check()
    assert not (host_dir / "payload").exists()
    inside = shocker("exec", container_id, "cat", f"{host_dir}/payload").check()
    assert inside.out == "payload\n"
    shocker("cp", str(tmp_path / "payload"), f"{container_id}:/x/up/../../../p2").check()
    assert shocker("exec", container_id, "cat", "/p2").check().out == "payload\n"
    # A hostile tar on stdin: names with .. stay below DEST (as if DEST were "/").
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("../../../../../escaped")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"no\n"))
    cp_binary(shocker, "-", f"{container_id}:/x", data=buffer.getvalue())
    assert shocker("exec", container_id, "cat", "/x/escaped").check().out == "no\n"
    assert not Path("/escaped").exists()


def test_bad_arguments_are_one_line_errors(
    shocker: Shocker, run_detached: Callable[..., str], busybox_id: str, tmp_path: Path
) -> None:
    container_id = run_detached(busybox_id, "sleep", "60")
    cases = [
        (("nope-here:/etc/passwd", str(tmp_path)), "No container named 'nope-here' exists"),
        ((str(tmp_path), str(tmp_path)), "CONTAINER:PATH"),
        ((f"{container_id}:/a", f"{container_id}:/b"), "between containers"),
        ((f"{container_id}:/no/such", str(tmp_path)), "No such container:path"),
        ((f"{container_id}:/etc", str(tmp_path / "missing" / "deeper")), "no such directory"),
        ((str(tmp_path / "absent"), f"{container_id}:/tmp"), "no such file or directory"),
    ]
    for args, message in cases:
        result = shocker("cp", *args)
        assert result.rc != 0, result
        assert message in result.err, result
        assert len(result.err.strip().splitlines()) == 1, result
    assert list(tmp_path.iterdir()) == []


def test_follow_link_copies_what_a_symlink_source_points_to_under_its_name(
    shocker: Shocker, busybox_id: str, containers: list[str], tmp_path: Path
) -> None:
    script = (
        "mkdir -p /data/dir && echo real > /data/real && echo deep > /data/dir/f"
        " && ln -s real /data/rel && ln -s /data/rel /abs && ln -s ../data/dir /data/dlink"
        " && ln -s ../../../../../../etc/hostname /data/up"
    )
    shocker("run", "--name", "cp-follow", busybox_id, "sh", "-c", script).check()
    containers.append("cp-follow")
    out = tmp_path / "out"
    out.mkdir()
    shocker("cp", "cp-follow:/abs", str(out)).check()
    assert (out / "abs").readlink() == Path("/data/rel")  # without -L: the link itself
    shocker("cp", "-L", "cp-follow:/abs", str(out / "followed")).check()
    assert (out / "followed").read_text() == "real\n"
    shocker("cp", "-L", "cp-follow:/data/rel", str(out)).check()
    assert not (out / "rel").is_symlink() and (out / "rel").read_text() == "real\n"
    shocker("cp", "--follow-link", "cp-follow:/data/dlink", str(out)).check()
    assert (out / "dlink" / "f").read_text() == "deep\n"
    # A link climbing out of the root still resolves inside it.
    shocker("cp", "-L", "cp-follow:/data/up", str(out / "up")).check()
    inside = shocker("cp", "cp-follow:/etc/hostname", str(out / "hostname")).check()
    assert inside.rc == 0 and (out / "up").read_text() == (out / "hostname").read_text()
    # Into the container: a host symlink's target, under the link's name.
    (tmp_path / "target.txt").write_text("from host\n")
    (tmp_path / "hostlink").symlink_to(tmp_path / "target.txt")
    shocker("cp", "-L", str(tmp_path / "hostlink"), "cp-follow:/data/").check()
    shocker("cp", str(tmp_path / "hostlink"), "cp-follow:/data/plain").check()
    shocker("cp", "cp-follow:/data/.", str(tmp_path / "back")).check()
    assert (tmp_path / "back" / "hostlink").read_text() == "from host\n"
    assert not (tmp_path / "back" / "hostlink").is_symlink()
    assert (tmp_path / "back" / "plain").readlink() == tmp_path / "target.txt"


def test_copies_reach_a_stopped_containers_volumes_and_binds(
    shocker: Shocker, busybox_id: str, containers: list[str], tmp_path: Path
) -> None:
    volume = "cp-stopped-volume"
    bound = tmp_path / "bound"
    readonly = tmp_path / "readonly"
    bound.mkdir()
    readonly.mkdir()
    (readonly / "kept").write_text("kept\n")
    run = shocker(
        "run",
        "--name",
        "cp-volumes",
        "-v",
        f"{volume}:/vol",
        "-v",
        f"{bound}:/bound",
        "-v",
        f"{readonly}:/ro:ro",
        busybox_id,
        "sh",
        "-c",
        "echo in-volume > /vol/v; echo in-bind > /bound/b",
    )
    containers.append("cp-volumes")
    try:
        run.check()
        shocker("cp", "cp-volumes:/vol/v", str(tmp_path / "v")).check()
        assert (tmp_path / "v").read_text() == "in-volume\n"
        shocker("cp", "cp-volumes:/", str(tmp_path / "whole")).check()
        assert (tmp_path / "whole" / "bound" / "b").read_text() == "in-bind\n"
        assert (tmp_path / "whole" / "ro" / "kept").read_text() == "kept\n"
        (tmp_path / "new").write_text("copied in\n")
        shocker("cp", str(tmp_path / "new"), "cp-volumes:/vol/new").check()
        shocker("cp", str(tmp_path / "new"), "cp-volumes:/bound/").check()
        assert (bound / "new").read_text() == "copied in\n"
        seen = shocker(
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            f"{volume}:/vol",
            busybox_id,
            "cat",
            "/vol/new",
        )
        assert seen.check().out == "copied in\n"
        [container_id] = shocker("ps", "-q", "--filter", "name=cp-volumes").check().lines
        rootfs = shocker.root / container_id
        assert not (rootfs / "vol" / "new").exists()  # the volume, not the rootfs under it
        refused = shocker("cp", str(tmp_path / "new"), "cp-volumes:/ro/")
        assert refused.rc != 0 and len(refused.err.strip().splitlines()) == 1, refused
        assert "Read-only" in refused.err or "read-only" in refused.err, refused
        assert sorted(p.name for p in readonly.iterdir()) == ["kept"]
    finally:
        shocker("rm", "-f", "cp-volumes")
        shocker("volume", "rm", volume)
