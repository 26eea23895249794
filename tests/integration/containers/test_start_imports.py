"""`run`, `exec` and `ps` start lean: what each really imported, read from the process itself.

Every module on these paths is paid for by every start (the benchmark's `run --rm`); the
heavy ones load only in the commands, or the cases (bridge, another runtime, a seccomp
cache miss), that use them.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.shocker import Shocker, cli_command

# Heavy for a start: argument parsing, typing, process and thread machinery, archives and
# compression, hashing, TLS/HTTP, logging, the libraries of other subsystems; json,
# contextlib, importlib and signal, which shocker.leanjson, shocker.leancontext, __import__
# and _signal (shocker.static) do without; Docker's default seccomp profile, read resolved
# from the store's cache after the first start.
HEAVY = frozenset(
    {
        "json", "contextlib", "importlib", "signal",
        "argparse", "gettext", "locale", "typing", "dataclasses", "inspect", "ast",
        "subprocess", "threading", "selectors", "concurrent.futures", "asyncio", "socket",
        "shutil", "tempfile", "random", "tarfile", "gzip", "zlib", "bz2", "lzma", "hashlib",
        "ssl", "http.client", "urllib.request", "email", "logging", "uuid", "textwrap",
        "httpx", "pyroute2", "pyseccomp", "seccomp", "zstandard",
        "shocker.oci.seccomp_default", "shocker.oci.seccomp_profile",
    }
)  # fmt: skip


def imports_of(log: Path, command: str) -> list[set[str]]:
    """The module sets the log holds for `command`, one per process that ran it."""
    runs = []
    for line in log.read_text().splitlines():
        name, *modules = line.split()
        if name == command:
            runs.append(set(modules))
    return runs


def test_run_exec_and_ps_import_nothing_heavy(
    shocker: Shocker,
    busybox_id: str,
    tmp_path: Path,
) -> None:
    # Once without the log: a first run may compile the seccomp filter (a cache miss).
    shocker("run", "--rm", "--network", "none", busybox_id, "true").check()
    log = tmp_path / "imports"
    logged = shocker.with_env(SHOCKER_IMPORT_LOG=str(log))
    logged("run", "--rm", "--network", "none", busybox_id, "true").check()
    container_id = logged("run", "-d", "--network", "none", busybox_id, "sleep", "30").check()
    run_detached_id = container_id.lines[-1].strip()
    try:
        logged("exec", run_detached_id, "true").check()
        logged("ps").check()
        logged("ps", "-a", "--format", "json").check()
    finally:
        shocker("rm", "-f", run_detached_id)
    seen = {command: imports_of(log, command) for command in ("run", "exec", "ps")}
    assert [len(seen["run"]), len(seen["exec"]), len(seen["ps"])] == [2, 1, 2], seen.keys()
    for command, runs in seen.items():
        for modules in runs:
            assert "shocker.cli.main" in modules  # the log is real: it names the entry point
            heavy = sorted(HEAVY & modules)
            assert not heavy, f"`shocker {command}` imported {heavy}"
            if Path(cli_command()[0]).name == "shocker":
                # The installed command starts the interpreter with -I -S: no site.py.
                assert "site" not in modules, f"`shocker {command}` ran site.py"
