"""CVE-2019-5736 class: a container overwriting the host runtime through /proc/PID/exe.

The runtime is the host's Python interpreter. A process inside the container watches for
processes that `shocker exec` brings in and tries to write through their /proc/PID/exe,
and it runs scripts whose interpreter is `#!/proc/self/exe`, which the kernel resolves to
the exe of whoever calls execve. Every exe it can see must be the container's own file or
the sealed in-memory trampoline, never a host file."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

from tests.support.shocker import Shocker

# Records every exe readable in the container's /proc, and tries to write through it.
WATCHER = r"""
: > /tmp/seen
while :; do
  for p in /proc/[0-9]*; do
    [ "$p" = /proc/$$ ] && continue
    exe=$(readlink "$p/exe" 2>/dev/null) || continue
    grep -qxF "$exe" /tmp/seen || echo "$exe" >> /tmp/seen
    if (echo pwned >> "$p/exe") 2>/dev/null; then echo "WROTE $exe" >> /tmp/seen; fi
  done
done
"""

SELF_EXE_SCRIPT = "#!/proc/self/exe\necho the runtime ran this\n"
TRAMPOLINE = "/memfd:shocker-exec (deleted)"


def _host_binaries() -> dict[Path, str]:
    """The interpreter and library the runtime runs from, with their digests."""
    files = {Path(os.path.realpath(sys.executable))}
    for line in Path("/proc/self/maps").read_text().splitlines():
        path = line.split()[-1]
        if "libpython" in path:
            files.add(Path(path))
    return {f: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def test_exec_exposes_no_host_binary(
    shocker: Shocker, busybox_id: str, run_detached: Callable[..., str], tmp_path: Path
) -> None:
    before = _host_binaries()
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "evil").write_text(SELF_EXE_SCRIPT)
    (scripts / "evil").chmod(0o755)
    container = run_detached("-v", f"{scripts}:/scripts:ro", busybox_id, "sh", "-c", WATCHER)
    for _ in range(15):
        evil = shocker("exec", container, "/scripts/evil", "a", "b")
        assert evil.rc != 0, str(evil)
        assert "runtime ran this" not in evil.out
        assert "python" not in evil.err.lower(), str(evil)
        shocker("exec", container, "sleep", "0.3").check()
    seen = shocker("exec", container, "cat", "/tmp/seen").check().lines
    assert "/bin/busybox" in seen, seen  # the watcher saw the exec'd processes
    assert not [line for line in seen if line.startswith("WROTE")], seen
    assert set(seen) <= {"/bin/busybox", TRAMPOLINE}, seen
    assert _host_binaries() == before


def test_a_self_exe_entrypoint_runs_no_host_binary(
    shocker: Shocker, busybox_id: str, tmp_path: Path
) -> None:
    # As pid 1: the kernel resolves /proc/self/exe of the process starting the container.
    (tmp_path / "evil").write_text(SELF_EXE_SCRIPT)
    (tmp_path / "evil").chmod(0o755)
    result = shocker("run", "--rm", "-v", f"{tmp_path}:/scripts:ro", busybox_id, "/scripts/evil")
    assert result.rc == 126, str(result)
    assert "python" not in result.err.lower(), str(result)
    assert "runtime ran this" not in result.out


def test_container_processes_show_their_own_exe(shocker: Shocker, busybox_id: str) -> None:
    script = "readlink /proc/self/exe; readlink /proc/1/exe"
    out = shocker("run", "--rm", busybox_id, "sh", "-c", script)
    assert out.check().lines == ["/bin/busybox", "/bin/busybox"]
