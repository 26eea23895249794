"""A failed, interrupted or killed build: one line on stderr naming the step, and nothing
left behind (no image, no name, no container; mounts, cgroups and veths by the leak guard)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.build.conftest import write_context
from tests.support.assertions import assert_one_line_error
from tests.support.catalog import ImageSet
from tests.support.shocker import Result, Shocker


def _state(shocker: Shocker) -> tuple[set[str], set[str], set[tuple[str, ...]]]:
    """Image ids, container ids, and the (id, name) rows of `images`."""
    rows = shocker("images").check().lines[1:]
    return (
        set(shocker("images", "-q").check().lines),
        set(shocker("ps", "-q").check().lines),
        {tuple(row.split()[:2]) for row in rows},
    )


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ("FROBNICATE now\n", ("Dockerfile:2", "FROBNICATE now", "unknown instruction")),
        ("RUN echo ok\nRUN exit 3\n", ("Dockerfile:3", "RUN exit 3", "non-zero code: 3")),
        ("COPY missing.txt /x\n", ("Dockerfile:2", "COPY missing.txt /x", "missing.txt")),
        ("COPY ../outside /x\n", ("Dockerfile:2", "outside the build context")),
        ("COPY link /x\n", ("Dockerfile:2", "outside the build context")),
        ("RUN /no/such/program\n", ("Dockerfile:2", "RUN /no/such/program")),
    ],
)
def test_a_failing_step_is_named_in_one_line_and_leaves_nothing(
    shocker: Shocker,
    build: Callable[..., Result],
    images: ImageSet,
    tmp_path: Path,
    body: str,
    fragments: tuple[str, ...],
) -> None:
    context = tmp_path / "context"
    write_context(context, {"Dockerfile": f"FROM {images.busybox.ref}\n{body}"})
    (tmp_path / "outside").write_text("host file\n")
    (context / "link").symlink_to(tmp_path / "outside")
    before = _state(shocker)
    result = build("--network", "none", "-t", "never/made", str(context))
    assert_one_line_error(result, *fragments)
    assert "Created:" not in result.out
    assert _state(shocker) == before


def test_a_missing_base_image_fails_with_the_pull_line_first(
    shocker: Shocker, build: Callable[..., Result], images: ImageSet, tmp_path: Path
) -> None:
    context = write_context(tmp_path, {"Dockerfile": "FROM test/no-such-image:1\nRUN true\n"})
    before = _state(shocker)
    result = build("--network", "none", str(context))
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert result.rc != 0 and len(lines) == 2, str(result)
    assert lines[0].startswith("Unable to find image")
    assert "Dockerfile:1" in lines[1] and "test/no-such-image" in lines[1]
    assert _state(shocker) == before


def test_a_missing_context_or_dockerfile_is_named(
    build: Callable[..., Result], tmp_path: Path
) -> None:
    assert_one_line_error(build(str(tmp_path / "nowhere")), "nowhere")
    assert_one_line_error(build("-f", str(tmp_path / "Nofile"), str(tmp_path)), "Nofile")


def test_a_dockerfile_from_stdin_and_outside_the_context(
    shocker: Shocker, build: Callable[..., Result], images: ImageSet, tmp_path: Path
) -> None:
    context = write_context(tmp_path / "ctx", {"data": "from the context\n"})
    text = f"FROM {images.busybox.ref}\nCOPY data /data\nCMD cat /data\n"
    piped = build("--network", "none", "-f", "-", str(context), input=text).check()
    outside = write_context(tmp_path / "elsewhere", {"Build.file": text})
    named = build("--network", "none", "-f", str(outside / "Build.file"), str(context)).check()
    assert named.created_id() == piped.created_id()
    ran = shocker("run", "--rm", "--network", "none", piped.created_id()).check()
    assert ran.lines == ["from the context"]


def _wait_for(check: Callable[[], bool], timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL])
def test_an_interrupted_or_killed_build_leaves_nothing_behind(
    shocker: Shocker, busybox_id: str, images: ImageSet, tmp_path: Path, how: signal.Signals
) -> None:
    context = write_context(
        tmp_path,
        {"Dockerfile": f"FROM {images.busybox.ref}\nRUN echo started; sleep 60\nRUN true\n"},
    )
    before = _state(shocker)
    process = shocker.popen("build", "--network", "none", "-t", "never/killed", str(context))
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.strip() == "started":
                break
        assert len(set(shocker("ps", "-q").check().lines) - before[1]) == 1
        os.kill(process.pid, how)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode != 0
    assert _wait_for(lambda: _state(shocker) == before), _state(shocker)
    scratch = shocker.root / ".shocker" / "tmp"
    assert not [p for p in scratch.iterdir() if f"-{process.pid}-" in p.name]


def test_a_step_container_whose_build_died_unlaunched_goes_with_the_next_build(
    shocker: Shocker, build: Callable[..., Result], images: ImageSet, tmp_path: Path
) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    orphan = shocker(
        "run", "-d", "--network", "none", "-l", f"shocker.build.pid={gone.pid}",
        images.busybox.ref, "true",
    ).check().lines[-1]  # fmt: skip
    assert _wait_for(lambda: "Exited" in shocker("ps").check().out)
    context = write_context(tmp_path, {"Dockerfile": f"FROM {images.busybox.ref}\nENV A=1\n"})
    build("--network", "none", str(context)).check()
    assert orphan not in shocker("ps", "-q").check().lines
