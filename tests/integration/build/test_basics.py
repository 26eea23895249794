"""`shocker build` through the CLI: each instruction's effect checked by running the image."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.integration.build.conftest import write_context
from tests.support.catalog import ImageSet
from tests.support.shocker import Result, Shocker


def _dockerfile(images: ImageSet, body: str) -> str:
    return f"FROM {images.busybox.ref}\n{body}"


def test_run_env_workdir_user_and_cmd_take_effect_in_the_image(
    shocker: Shocker, build: Callable[..., Result], images: ImageSet, tmp_path: Path
) -> None:
    context = write_context(
        tmp_path,
        {
            "Dockerfile": _dockerfile(
                images,
                'ENV GREETING=hello NAME="the world"\n'
                'RUN echo "$GREETING $NAME" > /greeting'
                " && echo app:x:1234:1234::/:/bin/sh >> /etc/passwd\n"
                "WORKDIR /srv/app\n"
                "WORKDIR sub\n"
                "USER app\n"
                "RUN id -u > /tmp/uid\n"
                'LABEL org.example.kind=test "second key"=two\n'
                "EXPOSE 8080 53/udp\n"
                "CMD cat /greeting; pwd; id -u; cat /tmp/uid; echo $GREETING\n",
            ),
        },
    )
    result = build("--network", "none", str(context)).check()
    image = result.created_id()
    assert result.lines[-1] == f"Created: {image}"
    assert result.lines[0].startswith("STEP 1/10: FROM ")
    assert "STEP 3/10: RUN echo" in result.out
    ran = shocker("run", "--rm", "--network", "none", image).check()
    assert ran.lines == ["hello the world", "/srv/app/sub", "1234", "1234", "hello"]
    config = json.loads(shocker("inspect", image).check().out)[0]["config"]["config"]
    assert config["Cmd"][:2] == ["/bin/sh", "-c"]
    assert config["WorkingDir"] == "/srv/app/sub"
    assert config["User"] == "app"
    assert config["Labels"] == {"org.example.kind": "test", "second key": "two"}
    assert set(config["ExposedPorts"]) == {"8080/tcp", "53/udp"}
    assert "GREETING=hello" in config["Env"]


def test_a_rebuild_with_nothing_changed_reuses_every_step_and_the_image(
    build: Callable[..., Result], images: ImageSet, tmp_path: Path
) -> None:
    context = write_context(
        tmp_path,
        {
            "Dockerfile": _dockerfile(images, "RUN echo one > /one\nCOPY a.txt /a.txt\n"),
            "a.txt": "a\n",
        },
    )
    first = build("--network", "none", str(context)).check()
    second = build("--network", "none", str(context)).check()
    assert second.created_id() == first.created_id()
    assert second.out.count("--> Using cache") == 2, second.out
