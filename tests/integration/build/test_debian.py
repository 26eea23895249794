"""A build on a Debian base: this host's own Debian programs and their shared libraries
(bash, coreutils, the dynamic loader) as a small image in the session's registry."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.integration.build.conftest import write_context
from tests.support import tarbuild as tb
from tests.support.images import layer, push_image
from tests.support.prereqs import require
from tests.support.push import Pusher
from tests.support.shocker import Result, Shocker

PROGRAMS = ("/usr/bin/bash", "/usr/bin/cat", "/usr/bin/id", "/usr/bin/mkdir")


def _libraries(program: str) -> set[str]:
    out = subprocess.run(["ldd", program], capture_output=True, text=True, check=True).stdout
    found = set()
    for line in out.splitlines():
        words = line.split()
        if "=>" in words and len(words) > words.index("=>") + 1:
            found.add(words[words.index("=>") + 1])
        elif words and words[0].startswith("/"):
            found.add(words[0])  # the dynamic loader
    return found


def debian_members() -> list[tb.Member]:
    """Usr-merged like Debian 12: /bin, /lib, /lib64 are links into /usr."""
    files: dict[str, bytes] = {}
    links: dict[str, str] = {}
    for path in {*PROGRAMS, *(lib for p in PROGRAMS for lib in _libraries(p))}:
        real = Path(path).resolve()
        files[str(real).lstrip("/")] = real.read_bytes()
        named = Path(path).parent.resolve() / Path(path).name
        if named != real:
            links[str(named).lstrip("/")] = os.path.relpath(real, named.parent)
    directories = sorted({str(Path(n).parent) for n in [*files, *links]} | {"etc", "tmp"})
    members = [tb.directory(d, 0o1777 if d == "tmp" else 0o755) for d in directories]
    members += [tb.file(name, data, 0o755) for name, data in sorted(files.items())]
    members += [tb.symlink(name, target) for name, target in sorted(links.items())]
    members += [
        tb.symlink("bin", "usr/bin"),
        tb.symlink("lib", "usr/lib"),
        tb.symlink("lib64", "usr/lib64"),
        tb.file("etc/debian_version", Path("/etc/debian_version").read_text()),
        tb.file("etc/passwd", "root:x:0:0:root:/root:/bin/bash\napp:x:1000:1000::/:/bin/bash\n"),
        tb.file("etc/group", "root:x:0:\napp:x:1000:\n"),
    ]
    return members


def test_a_debian_base_builds_with_bash_as_the_shell(
    shocker: Shocker,
    build: Callable[..., Result],
    pusher: Pusher,
    tmp_path: Path,
) -> None:
    require(Path("/etc/debian_version").is_file(), "a Debian host to take the base from")
    base = push_image(pusher, "test/debian-base", [layer(debian_members())])
    context = write_context(
        tmp_path,
        {
            "Dockerfile": f"FROM {base.ref}\n"
            'SHELL ["/bin/bash", "-c"]\n'
            "RUN [[ -f /etc/debian_version ]] && mkdir -p /opt/app"
            ' && echo "bash ${BASH_VERSINFO[0]}" > /opt/app/version\n'
            "COPY hello.txt /opt/app/\n"
            "USER app\n"
            "CMD cat /opt/app/version /opt/app/hello.txt; id -un\n",
            "hello.txt": "hello from the context\n",
        },
    )
    image = build("--network", "none", str(context)).check().created_id()
    config = json.loads(shocker("inspect", image).check().out)[0]["config"]
    assert config["config"]["Cmd"][:2] == ["/bin/bash", "-c"]
    assert len(config["rootfs"]["diff_ids"]) == 3  # the base, the RUN, the COPY
    ran = shocker("run", "--rm", "--network", "none", image).check()
    version, hello, user = ran.lines
    assert version.startswith("bash ") and int(version.split()[1]) >= 4
    assert (hello, user) == ("hello from the context", "app")
