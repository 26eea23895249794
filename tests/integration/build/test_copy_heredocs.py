"""COPY and ADD with here-documents: files written from the Dockerfile itself, as BuildKit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.integration.build.conftest import OFFLINE, run_in, write_context
from tests.support.catalog import ImageSet
from tests.support.shocker import Result, Shocker


def test_copy_heredocs_write_files_with_mode_owner_and_expansion(
    shocker: Shocker, build: Callable[..., Result], images: ImageSet, tmp_path: Path
) -> None:
    context = write_context(
        tmp_path,
        {
            "Dockerfile": f"FROM {images.busybox.ref}\n"
            "ARG WHO=world\n"
            "COPY <<EOF /greeting\n"
            'hello $WHO, "quoted" and it\'s kept\n'
            "EOF\n"
            "COPY <<'EOF' /literal\n"
            "no $WHO here\n"
            "EOF\n"
            "COPY <<one <<two /dir/\n"
            "first\n"
            "one\n"
            "second\n"
            "two\n"
            "COPY --chmod=755 --chown=1234:2345 <<-EOF /script\n"
            "\t#!/bin/sh\n"
            "\techo ran\n"
            "\tEOF\n"
            "ADD <<EOF context.txt /mixed/\n"
            "inline\n"
            "EOF\n",
            "context.txt": "from the context\n",
        },
    )
    image = build(*OFFLINE, str(context)).check().created_id()
    lines = run_in(
        shocker,
        image,
        "sh",
        "-c",
        "cat /greeting /literal /dir/one /dir/two /mixed/EOF /mixed/context.txt;"
        " stat -c '%a %u:%g' /greeting /dir/one /script; /script",
    )
    assert lines == [
        'hello world, "quoted" and it\'s kept',
        "no $WHO here",
        "first",
        "second",
        "inline",
        "from the context",
        "644 0:0",
        "644 0:0",
        "755 1234:2345",
        "ran",
    ]


def test_a_heredoc_copy_is_cached_by_its_content(
    shocker: Shocker, build: Callable[..., Result], images: ImageSet, tmp_path: Path
) -> None:
    def dockerfile(text: str) -> None:
        write_context(
            tmp_path,
            {"Dockerfile": f"FROM {images.busybox.ref}\nCOPY <<EOF /file\n{text}\nEOF\n"},
        )

    dockerfile("one")
    first = build(*OFFLINE, str(tmp_path)).check()
    again = build(*OFFLINE, str(tmp_path)).check()
    assert "Using cache" in again.out
    assert again.created_id() == first.created_id()
    dockerfile("two")
    changed = build(*OFFLINE, str(tmp_path)).check()
    assert changed.created_id() != first.created_id()
    assert run_in(shocker, changed.created_id(), "sh", "-c", "cat /file") == ["two"]
    assert run_in(shocker, first.created_id(), "sh", "-c", "cat /file") == ["one"]
