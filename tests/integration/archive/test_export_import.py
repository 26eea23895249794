"""`shocker export` and `shocker import`: a container's filesystem out as a tar and back in
as a one-layer image, content, modes, owners, links and special files kept."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.assertions import assert_one_line_error, image_rows
from tests.support.catalog import ImageSet
from tests.support.images import ISSUE
from tests.support.shocker import Shocker

MAKE_FILES = " && ".join(
    [
        "mkdir -p /made/private",
        "chmod 700 /made/private",
        "echo secret > /made/private/key",
        "chown 1234:5678 /made/private/key",
        "chmod 640 /made/private/key",
        "echo tool > /made/tool && chmod 4755 /made/tool",
        "ln -s /etc/issue /made/absolute-link",
        "ln -s ../etc/issue /made/relative-link",
        "ln /made/tool /made/tool-hardlink",
        "mkfifo /made/fifo",
        "rm /etc/issue.net 2>/dev/null; true",
    ]
)


def _tree(root: Path) -> dict[str, tuple[object, ...]]:
    """Every entry below `root`: type and mode, owner, and content or link target."""
    found: dict[str, tuple[object, ...]] = {}
    for directory, names, files in os.walk(root):
        for name in names + files:
            path = Path(directory) / name
            info = path.lstat()
            if stat.S_ISREG(info.st_mode):
                content: object = hashlib.sha256(path.read_bytes()).hexdigest()
            elif stat.S_ISLNK(info.st_mode):
                content = str(path.readlink())
            else:
                content = None
            found[str(path.relative_to(root))] = (info.st_mode, info.st_uid, info.st_gid, content)
    return found


def _container(shocker: Shocker, images: ImageSet, name: str) -> Path:
    shocker(
        "run", "--name", name, "--network", "none", images.busybox.ref, "sh", "-c", MAKE_FILES
    ).check()
    [container_id] = shocker("ps", "-q").check().out.split()
    return shocker.root / container_id


def test_export_then_import_keeps_content_modes_owners_and_links(
    fresh_shocker: Shocker, images: ImageSet, tmp_path: Path
) -> None:
    rootfs = _container(fresh_shocker, images, "exported")
    archive = tmp_path / "fs.tar"

    fresh_shocker("export", "-o", str(archive), "exported").check()
    image_id = fresh_shocker("import", str(archive), "reimported:1").check().created_id()

    imported = _tree(fresh_shocker.root / image_id)
    assert imported == _tree(rootfs)
    assert imported["made/private/key"][1:3] == (1234, 5678)
    assert stat.S_IMODE(int(imported["made/tool"][0])) == 0o4755  # type: ignore[call-overload]
    assert image_rows(fresh_shocker("images").check())[image_id][0] == "reimported:1"
    ran = fresh_shocker(
        "run", "--rm", "--network", "none", "reimported:1", "cat", "/made/relative-link"
    )
    assert ran.check().out == ISSUE


def test_import_from_stdin_applies_changes_and_runs(
    fresh_shocker: Shocker, images: ImageSet, tmp_path: Path
) -> None:
    _container(fresh_shocker, images, "source")
    archive = tmp_path / "fs.tar.gz"
    exported = subprocess.run(
        [*fresh_shocker.argv("export", "source")], env=dict(fresh_shocker.env),
        capture_output=True, check=True,
    )  # fmt: skip
    archive.write_bytes(
        subprocess.run(
            ["gzip", "-1"], input=exported.stdout, capture_output=True, check=True
        ).stdout
    )

    with open(archive, "rb") as stdin:
        done = subprocess.run(
            fresh_shocker.argv("import", "-c", "CMD cat /made/private/key", "-c",
                               "ENV MODE=imported", "-", "piped"),
            stdin=stdin, env=dict(fresh_shocker.env), capture_output=True, text=True, check=False,
        )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Created: img-")
    assert fresh_shocker("run", "--rm", "--network", "none", "piped").check().out == "secret\n"
    env = fresh_shocker("run", "--rm", "--network", "none", "piped", "sh", "-c", "echo $MODE")
    assert env.check().out == "imported\n"


def test_export_of_a_missing_container_says_so_and_writes_no_file(
    fresh_shocker: Shocker, tmp_path: Path
) -> None:
    target = tmp_path / "never.tar"

    result = fresh_shocker("export", "-o", str(target), "no-such-container")

    assert_one_line_error(result, "No container named 'no-such-container' exists")
    assert list(tmp_path.iterdir()) == []


def test_import_of_a_missing_file_names_it(fresh_shocker: Shocker, tmp_path: Path) -> None:
    result = fresh_shocker("import", str(tmp_path / "absent.tar"))

    assert_one_line_error(result, f"No file named '{tmp_path / 'absent.tar'}' exists")
    assert fresh_shocker("images", "-q").check().out == ""


def test_import_of_something_not_a_tar_fails_and_lists_nothing(
    fresh_shocker: Shocker, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(os.urandom(4096))

    result = fresh_shocker("import", str(junk), "junk:1")

    assert_one_line_error(result)
    assert fresh_shocker("images", "-q").check().out == ""


@contextmanager
def _serving(tarball: bytes) -> Iterator[str]:
    """A plain HTTP server on 127.0.0.1 with the tarball whole (`/fs.tar`, also behind a
    redirect and in chunks) and cut short (`/cut.tar`: a Content-Length it never reaches)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/fs.tar")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path in ("/fs.tar", "/cut.tar"):
                self.send_response(200)
                self.send_header("Content-Length", str(len(tarball)))
                self.send_header("Connection", "close")
                self.end_headers()
                cut = self.path == "/cut.tar"
                self.wfile.write(tarball[: len(tarball) // 2] if cut else tarball)
                self.close_connection = True
            elif self.path == "/chunked.tar":
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for start in range(0, len(tarball), 65536):
                    piece = tarball[start : start + 65536]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_error(404)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_import_of_a_url_downloads_the_whole_tarball_or_makes_nothing(
    fresh_shocker: Shocker, images: ImageSet, tmp_path: Path
) -> None:
    _container(fresh_shocker, images, "source")
    exported = subprocess.run(
        [*fresh_shocker.argv("export", "source")], env=dict(fresh_shocker.env),
        capture_output=True, check=True,
    )  # fmt: skip
    fresh_shocker("rm", "source").check()
    before = set(fresh_shocker("images", "-q").check().lines)
    scratch = fresh_shocker.root / ".shocker" / "tmp"
    with _serving(exported.stdout) as base:
        for bad, message in [
            ("/cut.tar", "closed before the end of the body"),
            ("/missing.tar", "404"),
        ]:
            result = fresh_shocker("import", f"{base}{bad}", "never:1")
            assert_one_line_error(result, f"{base}{bad}", message)
            assert set(fresh_shocker("images", "-q").check().lines) == before
            assert not list(scratch.glob("import-*"))
        made = fresh_shocker(
            "import", "-c", "CMD cat /made/private/key", f"{base}/redirect", "web:1"
        )
        chunked = fresh_shocker("import", f"{base}/chunked.tar", "web:2")
    ran = fresh_shocker("run", "--rm", "--network", "none", made.check().created_id())
    assert ran.check().out == "secret\n"
    assert chunked.check().created_id() != made.created_id()
    shown = fresh_shocker("run", "--rm", "--network", "none", "web:2", "cat", "/made/tool")
    assert shown.check().out == "tool\n"
