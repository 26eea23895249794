"""`shocker-runtime` start, state, kill and delete start lean: what each really imported, read
from the process itself, over a real container's lifecycle.

containerd's shim runs the runtime four times per container; every module on these paths is
paid for by each call (the benchmark's `ctr run --rm`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.integration.ociruntime.conftest import SHOCKER_RUNTIME

# Heavy for these commands: argument parsing, the OCI spec parser and the create machinery
# (ctypes, namespaces, seccomp), process and thread machinery, shutil and its archives.
HEAVY = frozenset(
    {
        "argparse", "gettext", "locale", "typing", "dataclasses", "inspect", "ast",
        "subprocess", "threading", "socket", "shutil", "tempfile", "zlib", "bz2", "lzma",
        "ctypes", "pyseccomp", "shocker.oci.runtime_spec", "shocker.runtime.ocicreate",
        "shocker.runtime.seccomp", "shocker.linux.syscalls",
    }
)  # fmt: skip
# Heavy too for the commands that read nothing but state.json and /proc: json (it imports re),
# pathlib, re and enum. kill and delete (and state once the init runs) ask the container's
# cgroups (frozen or not, its processes), whose driver takes pathlib.
LEAN = {"state": {"json", "pathlib", "re", "enum"}, "start": {"json", "pathlib", "re", "enum"},
        "kill": {"json"}, "delete": {"json"}}  # fmt: skip

# shocker-runtime's own main in a process that then writes down what it imported.
PROBE = (
    "import sys\n"
    "from shocker.ocicli.main import main\n"
    "code = main(sys.argv[3:])\n"
    "with open(sys.argv[1], 'a') as log:\n"
    "    log.write(' '.join([sys.argv[2], *sys.modules]) + '\\n')\n"
    "sys.exit(code)\n"
)


def test_start_state_kill_and_delete_import_nothing_heavy(bundle: Path, tmp_path: Path) -> None:
    root, log = tmp_path / "state", tmp_path / "imports"
    cid = f"imports-{tmp_path.name[-8:]}"

    def run(*argv: str) -> None:
        # Output to a file: the container's init inherits it and outlives a pipe's reader.
        with (tmp_path / "out").open("w") as out:
            result = subprocess.run(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, timeout=60, check=False
            )
        assert result.returncode == 0, (tmp_path / "out").read_text()

    globals_ = ("--root", str(root), "--log", str(tmp_path / "log.json"), "--log-format", "json")

    def probe(*argv: str) -> None:
        run(sys.executable, "-I", "-c", PROBE, str(log), argv[0], *globals_, *argv)

    run(SHOCKER_RUNTIME, *globals_, "create", "--bundle", str(bundle), cid)
    try:
        probe("state", cid)
        probe("start", cid)
        probe("kill", cid, "9")
        probe("delete", "--force", cid)
        probe("delete", "--force", cid)  # gone: deleted as runc does
    finally:
        subprocess.run([SHOCKER_RUNTIME, *globals_, "delete", "--force", cid], check=False)
    lines = [line.split() for line in log.read_text().splitlines()]
    assert [line[0] for line in lines] == ["state", "start", "kill", "delete", "delete"]
    for command, *modules in lines:
        assert "shocker.ocicli.main" in modules  # the log is real: it names the entry point
        heavy = sorted((HEAVY | LEAN[command]) & set(modules))
        assert not heavy, f"`shocker-runtime {command}` imported {heavy}"
