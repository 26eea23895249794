"""FROM --platform: this machine's platform, written out or as BuildKit's predefined ARGs,
builds; another platform is refused in one line that names it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from tests.integration.build.conftest import OFFLINE, run_in, write_context
from tests.support.assertions import assert_one_line_error
from tests.support.catalog import ImageSet
from tests.support.shocker import Result, Shocker

_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)


def test_from_the_host_platform_and_the_predefined_platform_args(
    shocker: Shocker, build: Callable[..., Result], images: ImageSet, tmp_path: Path
) -> None:
    context = write_context(
        tmp_path,
        {
            "Dockerfile": f"FROM --platform=linux/{_ARCH} {images.busybox.ref} AS first\n"
            "RUN echo first > /first\n"
            "FROM --platform=$BUILDPLATFORM first AS second\n"
            "FROM --platform=$TARGETPLATFORM second\n"
            "ARG TARGETPLATFORM\n"
            "ARG TARGETARCH\n"
            'RUN echo $TARGETPLATFORM $TARGETARCH "[$BUILDOS]" > /platform\n',
        },
    )
    image = build(*OFFLINE, str(context)).check().created_id()
    assert run_in(shocker, image, "cat", "/first", "/platform") == [
        "first",
        f"linux/{_ARCH} {_ARCH} []",
    ]


def test_a_foreign_platform_is_refused_in_one_line_naming_it(
    shocker: Shocker, build: Callable[..., Result], images: ImageSet, tmp_path: Path
) -> None:
    foreign = "linux/s390x" if _ARCH != "s390x" else "linux/amd64"
    context = write_context(
        tmp_path, {"Dockerfile": f"FROM --platform={foreign} {images.busybox.ref}\nRUN true\n"}
    )
    before = shocker("images", "-q").check().lines
    result = build(*OFFLINE, str(context))
    assert_one_line_error(result, "Dockerfile:1", foreign, "not this machine's")
    assert "Created:" not in result.out
    assert shocker("images", "-q").check().lines == before
