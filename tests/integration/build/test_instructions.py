"""Each Dockerfile instruction's effect, checked by running (or inspecting) the built image."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

from tests.integration.build.conftest import OFFLINE, image_config, run_in, write_context
from tests.support.catalog import ImageSet
from tests.support.shocker import Result, Shocker


def test_copy_files_directories_wildcards_owner_and_mode(
    shocker: Shocker, build: Callable[..., Result], images: ImageSet, tmp_path: Path
) -> None:
    context = write_context(
        tmp_path,
        {
            "Dockerfile": f"FROM {images.busybox.ref}\n"
            "COPY one.txt /single\n"
            "COPY tree /tree\n"
            "COPY *.md /docs/\n"
            "COPY one.txt two.txt /many/\n"
            "COPY --chown=1234:2345 --chmod=600 one.txt /owned\n"
            "WORKDIR /relative\n"
            "COPY one.txt here\n",
            "one.txt": "one\n",
            "two.txt": "two\n",
            "a.md": "a\n",
            "b.md": "b\n",
            "tree/inner/deep.txt": "deep\n",
            "tree/top.txt": "top\n",
        },
    )
    image = build(*OFFLINE, str(context)).check().created_id()
    lines = run_in(
        shocker,
        image,
        "sh",
        "-c",
        "cat /single /tree/inner/deep.txt /tree/top.txt; ls /docs; ls /many;"
        " stat -c '%u:%g %a' /owned; cat /relative/here",
    )
    assert lines == [
        "one",
        "deep",
        "top",
        "a.md",
        "b.md",
        "one.txt",
        "two.txt",
        "1234:2345 600",
        "one",
    ]


def test_dockerignore_keeps_files_from_every_step(
    shocker: Shocker, build: Callable[..., Result], images: ImageSet, tmp_path: Path
) -> None:
    context = write_context(
        tmp_path,
        {
            "Dockerfile": f"FROM {images.busybox.ref}\nCOPY . /ctx\n",
            ".dockerignore": "# comment\n*.log\n**/secret*\nbuild\n!build/keep.txt\n",
            "app.txt": "app\n",
            "debug.log": "log\n",
            "deep/er/secret.key": "s\n",
            "build/out.o": "o\n",
            "build/keep.txt": "keep\n",
        },
    )
    image = build(*OFFLINE, str(context)).check().created_id()
    found = run_in(shocker, image, "find", "/ctx", "-type", "f")
    assert sorted(found) == [
        "/ctx/.dockerignore",
        "/ctx/Dockerfile",
        "/ctx/app.txt",
        "/ctx/build/keep.txt",
    ]
    named = build(*OFFLINE, "-f", str(context / "Dockerfile"), str(context))
    assert named.created_id() == image  # the same inputs: the same image
    bad = write_context(
        tmp_path / "second",
        {
            "Dockerfile": f"FROM {images.busybox.ref}\nCOPY debug.log /x\n",
            "debug.log": "x\n",
            ".dockerignore": "*.log\n",
        },
    )
    refused = build(*OFFLINE, str(bad))
    assert refused.rc != 0 and "debug.log" in refused.err


def test_add_unpacks_a_local_archive_and_refuses_urls(
    shocker: Shocker, build: Callable[..., Result], images: ImageSet, tmp_path: Path
) -> None:
    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w:gz") as tar:
        data = b"from the archive\n"
        member = tarfile.TarInfo("pkg/inside.txt")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    (tmp_path / "bundle.tar.gz").write_bytes(payload.getvalue())
    context = write_context(
        tmp_path,
        {
            "Dockerfile": f"FROM {images.busybox.ref}\n"
            "ADD bundle.tar.gz /opt/\nADD plain.txt /opt/\n",
            "plain.txt": "plain\n",
        },
    )
    image = build(*OFFLINE, str(context)).check().created_id()
    assert run_in(shocker, image, "cat", "/opt/pkg/inside.txt", "/opt/plain.txt") == [
        "from the archive",
        "plain",
    ]
    (tmp_path / "Dockerfile").write_text(
        f"FROM {images.busybox.ref}\nADD http://127.0.0.1:9/file /x\n"
    )
    refused = build(*OFFLINE, str(context))
    assert refused.rc != 0 and "Dockerfile:2" in refused.err and "URL" in refused.err


def test_args_defaults_build_args_and_args_before_from(
    shocker: Shocker, build: Callable[..., Result], images: ImageSet, tmp_path: Path
) -> None:
    repository, _, _ = images.busybox.ref.rpartition(":")
    context = write_context(
        tmp_path,
        {
            "Dockerfile": f"ARG BASE={repository}\nARG TAG=latest\nFROM $BASE:${{TAG}}\n"
            "ARG WHO=nobody\nARG LEVEL\nENV FROM_ARG=$WHO\n"
            'RUN echo "$WHO $LEVEL ${LEVEL:-unset}" > /args\n'
            "CMD cat /args; echo $FROM_ARG; echo ${WHO:-absent}\n",
        },
    )
    plain = build(*OFFLINE, str(context)).check().created_id()
    assert run_in(shocker, plain) == ["nobody  unset", "nobody", "absent"]
    given = build(*OFFLINE, "--build-arg", "WHO=alice", "--build-arg", "LEVEL=3", str(context))
    assert run_in(shocker, given.check().created_id()) == ["alice 3 3", "alice", "absent"]
    again = build(*OFFLINE, "--build-arg", "WHO=alice", "--build-arg", "LEVEL=3", str(context))
    assert again.check().created_id() == given.created_id()


def test_cmd_entrypoint_shell_and_the_config_only_instructions(
    shocker: Shocker, build: Callable[..., Result], images: ImageSet, tmp_path: Path
) -> None:
    context = write_context(
        tmp_path,
        {
            "Dockerfile": f"FROM {images.busybox.ref}\n"
            'CMD ["echo", "inherited"]\n'
            "FROM 0 AS child\n"
            'ENTRYPOINT ["echo", "entry"]\n'
            "FROM child\n"
            'SHELL ["/bin/sh", "-e", "-c"]\n'
            "RUN echo shell-form > /ran\n"
            "CMD echo via shell\n"
            'ENTRYPOINT exec sh -c \'cat /ran; echo "$0" "$@"\'\n'
            "STOPSIGNAL SIGQUIT\n"
            "HEALTHCHECK --interval=5s --retries=2 CMD test -f /ran\n"
            "VOLUME /data\n"
            'VOLUME ["/cache"]\n'
            "ONBUILD RUN echo triggered > /onbuild\n",
        },
    )
    result = build(*OFFLINE, "--target", "child", str(context)).check()
    child = result.created_id()
    assert "STEP 5/" not in result.out  # only the stages the target needs
    child_config = image_config(shocker, child)["config"]
    assert child_config["Entrypoint"] == ["echo", "entry"]
    assert child_config.get("Cmd") is None  # a new ENTRYPOINT clears the inherited CMD
    assert run_in(shocker, child) == ["entry"]

    image = build(*OFFLINE, str(context)).check().created_id()
    config = image_config(shocker, image)["config"]
    assert config["Cmd"] == ["/bin/sh", "-e", "-c", "echo via shell"]
    assert config["Entrypoint"][:3] == ["/bin/sh", "-e", "-c"]
    assert config["StopSignal"] == "SIGQUIT"
    assert config["Healthcheck"] == {
        "Test": ["CMD-SHELL", "test -f /ran"],
        "Interval": 5_000_000_000,
        "Retries": 2,
    }
    assert set(config["Volumes"]) == {"/data", "/cache"}
    assert config["OnBuild"] == ["RUN echo triggered > /onbuild"]
    assert run_in(shocker, image)[0] == "shell-form"

    shocker("tag", image, "onbuild-base:1").check()
    downstream = write_context(
        tmp_path / "downstream", {"Dockerfile": "FROM onbuild-base:1\nCMD cat /onbuild\n"}
    )
    triggered = build(*OFFLINE, str(downstream)).check().created_id()
    assert shocker(
        "run", "--rm", "--network", "none", "--entrypoint", "", triggered, "cat", "/onbuild"
    ).check().lines == ["triggered"]
    assert (
        "OnBuild" not in image_config(shocker, triggered)["config"]
        or not image_config(shocker, triggered)["config"]["OnBuild"]
    )
    shocker("rmi", "onbuild-base:1")


def test_multi_stage_copies_from_a_stage_and_an_image_and_skips_unneeded_stages(
    shocker: Shocker, build: Callable[..., Result], images: ImageSet, tmp_path: Path
) -> None:
    context = write_context(
        tmp_path,
        {
            "Dockerfile": f"FROM {images.busybox.ref} AS builder\n"
            "RUN echo compiled > /artifact\n"
            f"FROM {images.busybox.ref} AS unused\n"
            "RUN exit 7\n"
            "FROM scratch\n"
            "COPY --from=builder /artifact /artifact\n"
            f"COPY --from={images.busybox.ref} /bin/busybox /bin/busybox\n"
            'ENTRYPOINT ["/bin/busybox"]\n'
            'CMD ["cat", "/artifact"]\n',
        },
    )
    result = build(*OFFLINE, str(context)).check()
    assert "exit 7" not in result.out
    assert run_in(shocker, result.created_id()) == ["compiled"]


def test_tags_name_the_image_and_move_on_a_changed_rebuild(
    shocker: Shocker, build: Callable[..., Result], images: ImageSet, tmp_path: Path
) -> None:
    context = write_context(
        tmp_path, {"Dockerfile": f"FROM {images.busybox.ref}\nCOPY v /v\nCMD cat /v\n", "v": "1\n"}
    )
    first = build(*OFFLINE, "-t", "built/app", "-t", "built/app:v1", str(context))
    first_id = first.check().created_id()
    assert first.lines[-1] == f"Created: {first_id}"
    assert run_in(shocker, "built/app") == ["1"]
    rows = shocker("images").check().lines
    assert any(r.split()[:2] == [first_id, "built/app:latest"] for r in rows)
    assert any(r.split()[:2] == [first_id, "built/app:v1"] for r in rows)
    same = build(*OFFLINE, str(context)).check().created_id()
    assert same == first_id  # a full cache hit, with or without -t
    (tmp_path / "v").write_text("2\n")
    second = build(*OFFLINE, "-t", "built/app", str(context)).check()
    second_id = second.created_id()
    assert second_id != first_id
    assert "Using cache" not in second.out  # the COPY changed: it and every later step re-ran
    assert run_in(shocker, "built/app") == ["2"]
    assert run_in(shocker, "built/app:v1") == ["1"]  # the old image keeps its other name
    shocker("rmi", "built/app:v1").check()
    shocker("rmi", "built/app").check()


def test_no_cache_runs_every_step_again(
    build: Callable[..., Result], images: ImageSet, tmp_path: Path
) -> None:
    context = write_context(
        tmp_path, {"Dockerfile": f"FROM {images.busybox.ref}\nRUN date +%s%N > /stamp\n"}
    )
    first = build(*OFFLINE, str(context)).check().created_id()
    again = build(*OFFLINE, "--no-cache", str(context)).check()
    assert "Using cache" not in again.out
    assert again.created_id() != first


def test_run_heredocs_the_default_bridge_network_and_label_flags(
    shocker: Shocker, build: Callable[..., Result], images: ImageSet, tmp_path: Path
) -> None:
    context = write_context(
        tmp_path,
        {
            "Dockerfile": f"FROM {images.busybox.ref}\n"
            "LABEL kind=from-file keep=yes\n"
            "RUN <<SCRIPT\n"
            "echo first > /heredoc\n"
            "echo second >> /heredoc\n"
            "SCRIPT\n"
            "RUN ls /sys/class/net > /networks\n",
        },
    )
    image = build("--label", "kind=from-flag", str(context)).check().created_id()
    assert run_in(shocker, image, "cat", "/heredoc") == ["first", "second"]
    assert "eth0" in run_in(shocker, image, "cat", "/networks")  # the bridge by default
    labels = image_config(shocker, image)["config"]["Labels"]
    assert labels == {"kind": "from-flag", "keep": "yes"}
    offline = build(*OFFLINE, "--no-cache", str(context)).check().created_id()
    assert run_in(shocker, offline, "cat", "/networks") == ["lo"]


def test_source_date_epoch_makes_layers_byte_identical(
    shocker: Shocker, build: Callable[..., Result], images: ImageSet, tmp_path: Path
) -> None:
    context = write_context(
        tmp_path,
        {
            "Dockerfile": f"FROM {images.busybox.ref}\nCOPY app /app\nRUN echo built > /app/out\n",
            "app/main.txt": "main\n",
        },
    )
    epoch = shocker.with_env(SOURCE_DATE_EPOCH="1700000000")

    def layers() -> list[str]:
        result = epoch("build", *OFFLINE, "--no-cache", str(context), timeout_s=300).check()
        image = result.created_id()
        digests = [
            str(layer["digest"])
            for layer in json.loads(epoch("inspect", image).check().out)[0]["layers"]
        ]
        epoch("rmi", image)
        return digests

    first, second = layers(), layers()
    assert first == second and len(first) == 3


def test_expose_is_published_by_run_p_and_a_dockerfile_may_bring_its_own_ignore_file(
    shocker: Shocker, build: Callable[..., Result], images: ImageSet, tmp_path: Path
) -> None:
    context = write_context(
        tmp_path / "ctx",
        {"kept.txt": "kept\n", "dropped.txt": "dropped\n", ".dockerignore": "kept.txt\n"},
    )
    recipe = write_context(
        tmp_path / "recipes",
        {
            "App.build": f"FROM {images.busybox.ref}\nCOPY . /ctx\nEXPOSE 8080\n",
            "App.build.dockerignore": "dropped.txt\n",  # wins over the context's own
        },
    )
    image = build(*OFFLINE, "-f", str(recipe / "App.build"), str(context)).check().created_id()
    assert sorted(run_in(shocker, image, "ls", "-A", "/ctx")) == [".dockerignore", "kept.txt"]
    container = shocker("run", "-d", "-P", image, "sleep", "30").check().lines[-1]
    try:
        ports = shocker("port", container).check().lines
        assert len(ports) == 1 and ports[0].startswith("8080/tcp -> "), ports
    finally:
        shocker("rm", "-f", container)


def test_a_run_step_under_an_image_volume_keeps_its_files_and_makes_no_volume(
    shocker: Shocker, build: Callable[..., Result], images: ImageSet, tmp_path: Path
) -> None:
    context = write_context(
        tmp_path,
        {
            "Dockerfile": f"FROM {images.busybox.ref}\n"
            "VOLUME /data\n"
            "RUN mkdir -p /data && echo kept > /data/file\n",
        },
    )
    volumes = shocker("volume", "ls").check().lines
    image = build(*OFFLINE, str(context)).check().created_id()
    assert shocker("volume", "ls").check().lines == volumes
    assert run_in(shocker, image, "cat", "/data/file") == ["kept"]
