"""What a test session may leave behind on the host, listed so a test that leaks fails.

Only objects of this session are looked at (paths under its directories, its bridge, its
iptables prefix, its cgroup parent), so sessions running side by side do not blame each other.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

CONTAINER_ID = re.compile(r"ps-[0-9a-f]{5}")


@dataclass(frozen=True)
class Scope:
    paths: tuple[Path, ...]  # session directories: mounts, loop files and SHOCKER_ROOTs below
    keep_mounts: tuple[Path, ...]  # the session's own mounts (its btrfs), never leaks
    bridge: str
    chain_prefix: str
    cgroup_parent: str
    cgroup_root: Path = Path("/sys/fs/cgroup")

    def under(self, path: str) -> bool:
        return any(path == str(p) or path.startswith(f"{p}/") for p in self.paths)


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (proc(5))."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mounts(scope: Scope) -> set[str]:
    found = set()
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = _unescape(line.split()[4])
        if scope.under(point) and point not in {str(p) for p in scope.paths + scope.keep_mounts}:
            found.add(point)
    return found


def bridge_ports(scope: Scope) -> set[str]:
    """Interfaces enslaved to the session's bridge (a container's host-side veth)."""
    ports = Path("/sys/class/net") / scope.bridge / "brif"
    return {p.name for p in ports.iterdir()} if ports.is_dir() else set()


def named_netns(scope: Scope) -> set[str]:
    """Named network namespaces that mention a container id or the session's bridge."""
    directory = Path("/run/netns")
    if not directory.is_dir():
        return set()
    return {
        p.name for p in directory.iterdir() if CONTAINER_ID.search(p.name) or scope.bridge in p.name
    }


def _iptables_lines(table: str) -> list[str]:
    result = subprocess.run(
        ["iptables", "-w", "-t", table, "-S"], capture_output=True, text=True, check=False
    )
    return result.stdout.splitlines()


def iptables_rules(scope: Scope) -> set[str]:
    """Per-container rules (they name a container id) in the session's chains."""
    return {
        f"{table}: {line}"
        for table in ("filter", "nat")
        for line in _iptables_lines(table)
        if scope.chain_prefix in line and CONTAINER_ID.search(line)
    }


def session_iptables(scope: Scope) -> set[str]:
    """Every rule or chain of the session (base chains included)."""
    return {
        f"{table}: {line}"
        for table in ("filter", "nat")
        for line in _iptables_lines(table)
        if scope.chain_prefix in line
    }


def cgroup_parents(scope: Scope) -> list[Path]:
    """The session's cgroup parent in every hierarchy (v1: one per controller; v2: one)."""
    root = scope.cgroup_root
    if (root / "cgroup.controllers").exists():
        return [root / scope.cgroup_parent]
    if not root.is_dir():
        return []
    return [d / scope.cgroup_parent for d in root.iterdir() if d.is_dir() and not d.is_symlink()]


def cgroups(scope: Scope) -> set[str]:
    found = set()
    for parent in cgroup_parents(scope):
        if parent.is_dir():
            found |= {str(p) for p in parent.rglob("*") if p.is_dir()}
    return found


def loop_devices(scope: Scope) -> set[str]:
    result = subprocess.run(
        ["losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE"],
        capture_output=True,
        text=True,
        check=False,
    )
    found = set()
    for line in result.stdout.splitlines():
        name, _, backing = line.strip().partition(" ")
        backing = backing.strip().removesuffix(" (deleted)")
        if backing and scope.under(backing):
            found.add(f"{name} {backing}")
    return found


def shocker_processes(scope: Scope) -> set[str]:
    """Live processes started with one of the session's SHOCKER_ROOTs (supervisors, CLIs)."""
    markers = [f"SHOCKER_ROOT={p}".encode() for p in scope.paths]
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            if any(marker in environ for marker in markers):
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                    found.add(f"{entry.name} {cmdline.strip()}")
        except (OSError, IndexError):
            continue
    return found


CATEGORIES = {
    "mounts": mounts,
    "veths on the bridge": bridge_ports,
    "netns": named_netns,
    "iptables rules": iptables_rules,
    "cgroups": cgroups,
    "loop devices": loop_devices,
    "processes": shocker_processes,
}

Snapshot = dict[str, set[str]]


def snapshot(scope: Scope) -> Snapshot:
    return {name: probe(scope) for name, probe in CATEGORIES.items()}


def new_since(before: Snapshot, scope: Scope, settle_s: float = 10.0) -> Snapshot:
    """What appeared since `before` and is still there after waiting up to `settle_s`
    (a supervisor finishing a `--rm` teardown just after the CLI returned is no leak)."""
    deadline = time.monotonic() + settle_s
    while True:
        after = snapshot(scope)
        leaked = {
            k: after[k] - before.get(k, set()) for k in after if after[k] - before.get(k, set())
        }
        if not leaked or time.monotonic() >= deadline:
            return leaked
        time.sleep(0.2)


def describe(leaked: Snapshot) -> str:
    return "\n".join(f"  {kind}: {sorted(items)}" for kind, items in leaked.items())


def clean_session(scope: Scope) -> list[str]:
    """Remove everything of the session that may remain; returns what had to be removed."""
    removed: list[str] = []
    for item in shocker_processes(scope):
        pid = int(item.split()[0])
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            removed.append(f"process {item}")
    for point in sorted(mounts(scope), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)
        removed.append(f"mount {point}")
    removed += _clean_iptables(scope)
    if (Path("/sys/class/net") / scope.bridge).exists():
        subprocess.run(["ip", "link", "del", scope.bridge], capture_output=True, check=False)
        removed.append(f"bridge {scope.bridge}")
    for parent in cgroup_parents(scope):
        if parent.is_dir():
            _remove_cgroup(parent)
            removed.append(f"cgroup {parent}")
    for item in loop_devices(scope):
        subprocess.run(["losetup", "-d", item.split()[0]], capture_output=True, check=False)
        removed.append(f"loop {item}")
    return removed


def _clean_iptables(scope: Scope) -> list[str]:
    removed = []
    for table in ("filter", "nat"):
        lines = [line for line in _iptables_lines(table) if scope.chain_prefix in line]
        chains = [line.split()[1] for line in lines if line.startswith("-N ")]
        # Jumps into the session's chains from built-in chains go first, then the chains.
        for line in lines:
            if line.startswith("-A ") and line.split()[1] not in chains:
                argv = ["iptables", "-w", "-t", table, "-D", *shlex.split(line)[1:]]
                subprocess.run(argv, capture_output=True, check=False)
                removed.append(f"{table}: {line}")
        for chain in chains:
            subprocess.run(
                ["iptables", "-w", "-t", table, "-F", chain], capture_output=True, check=False
            )
        for chain in chains:
            subprocess.run(
                ["iptables", "-w", "-t", table, "-X", chain], capture_output=True, check=False
            )
            removed.append(f"{table}: chain {chain}")
    return removed


def _remove_cgroup(path: Path) -> None:
    """rmdir children first; a cgroup with processes cannot go (its processes were killed)."""
    for child in sorted(
        (p for p in path.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True
    ):
        with contextlib.suppress(OSError):
            child.rmdir()
    with contextlib.suppress(OSError):
        path.rmdir()
