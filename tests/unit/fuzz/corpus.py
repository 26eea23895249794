"""A corpus of real-world tars: one source tree (long names and links, hardlinks,
symlinks, a sparse file, xattrs, device nodes, a fifo, an empty directory, set-id modes)
archived by the tools that write layers in the wild: GNU tar in each of its formats, bsdtar
(libarchive), busybox tar and Python's tarfile. Made afresh in the test, never checked in."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

from shocker.record import record

LONG = "n" * 120  # past ustar's 100-byte name field
LONG_TARGET = "t" * 150  # past the 100-byte link field


@record(frozen=True)
class Archive:
    name: str  # the tool and format that wrote it
    raw: bytes
    sparse: bool  # stored with a sparse map (shocker refuses those, in one line)


def source_tree(root: Path, *, short: bool = False) -> Path:
    """The tree to archive; `short`: only what ustar and v7 can name."""
    tree = root / ("short" if short else "full")
    (tree / "empty").mkdir(parents=True)
    (tree / "d").mkdir()
    (tree / "d" / "file").write_bytes(b"hello\n" * 100)
    os.link(tree / "d" / "file", tree / "d" / "hard")
    (tree / "d" / "rel").symlink_to("../d/file")
    (tree / "abs").symlink_to("/etc/passwd")  # a target read inside the root, never followed
    (tree / "d" / "secret").write_bytes(b"s")
    (tree / "d" / "secret").chmod(0o600)
    (tree / "d" / "file").chmod(0o4755)
    (tree / "uni-é").write_text("ü\n")
    os.mkfifo(tree / "fifo")
    if os.geteuid() == 0:
        os.mknod(tree / "null", 0o666 | 0o020000, os.makedev(1, 3))
        os.mknod(tree / "loop", 0o660 | 0o060000, os.makedev(7, 250))
    if not short:
        deep = tree / LONG / LONG
        deep.mkdir(parents=True)
        (deep / ("f" * 130)).write_bytes(b"long\n")
        (tree / "longlink").symlink_to(LONG_TARGET)
        os.link(deep / ("f" * 130), tree / "hard-to-long")
        # A filesystem without user xattrs: the archives just carry none.
        with contextlib.suppress(OSError):
            os.setxattr(tree / "d" / "file", "user.note", b"hello")
    return tree


def sparse_tree(root: Path) -> Path:
    tree = root / "sparse"
    tree.mkdir()
    with open(tree / "holes", "wb") as f:
        f.truncate(4 * 2**20)
        f.seek(2**20)
        f.write(b"X" * 4096)
    (tree / "plain").write_bytes(b"p")
    return tree


def _tool(argv: list[str], out: Path, accept: tuple[int, ...] = (0,)) -> bytes:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert result.returncode in accept, (argv, result.stderr)
    return out.read_bytes()


def _python(tree: Path, out: Path, fmt: int) -> bytes:
    with tarfile.open(out, "w", format=fmt) as archive:
        for path in sorted(tree.rglob("*")):
            archive.add(path, arcname=str(path.relative_to(tree)), recursive=False)
    return out.read_bytes()


def build_corpus(work: Path) -> list[Archive]:
    full, short, sparse = source_tree(work), source_tree(work, short=True), sparse_tree(work)
    out = work / "out"
    out.mkdir()
    made: list[Archive] = []

    def add(name: str, raw: bytes, is_sparse: bool = False) -> None:
        made.append(Archive(name, raw, is_sparse))

    gnu = shutil.which("tar")
    assert gnu is not None
    for fmt, tree in (("gnu", full), ("oldgnu", full), ("posix", full), ("ustar", short),
                      ("v7", short)):  # fmt: skip
        target = out / f"gnu-{fmt}.tar"
        extra = ["--xattrs"] if fmt == "posix" else []
        # v7 has no type for fifos or devices: tar says so, skips them, and exits 2.
        accept = (0, 2) if fmt == "v7" else (0,)
        raw = _tool([gnu, f"--format={fmt}", *extra, "-cf", str(target), "-C", str(tree), "."],
                    target, accept)  # fmt: skip
        add(f"gnu tar --format={fmt}", raw)
    for fmt in ("gnu", "posix"):
        target = out / f"gnu-{fmt}-sparse.tar"
        argv = [gnu, f"--format={fmt}", "--sparse", "-cf", str(target), "-C", str(sparse), "."]
        add(f"gnu tar --format={fmt} --sparse", _tool(argv, target), True)
    bsdtar = shutil.which("bsdtar")
    if bsdtar is not None:
        for fmt, tree in (("pax", full), ("gnutar", full), ("ustar", short)):
            target = out / f"bsdtar-{fmt}.tar"
            argv = [bsdtar, "--no-read-sparse", f"--format={fmt}", "-cf", str(target), "-C",
                    str(tree), "."]  # fmt: skip
            add(f"bsdtar --format={fmt}", _tool(argv, target))
        target = out / "bsdtar-pax-sparse.tar"
        argv = [bsdtar, "--format=pax", "-cf", str(target), "-C", str(sparse), "."]
        add("bsdtar --format=pax (sparse)", _tool(argv, target), True)
    busybox = shutil.which("busybox")
    if busybox is not None:
        target = out / "busybox.tar"
        argv = [busybox, "tar", "-cf", str(target), "-C", str(full), "."]
        add("busybox tar", _tool(argv, target))
    for tar_format, label, tree in ((tarfile.GNU_FORMAT, "gnu", full),
                                    (tarfile.PAX_FORMAT, "pax", full),
                                    (tarfile.USTAR_FORMAT, "ustar", short)):  # fmt: skip
        add(f"python tarfile {label}", _python(tree, out / f"python-{label}.tar", tar_format))
    return made
