"""Escape attempts from a default container (root, Docker's default capabilities), each
named for the CVE or class it stands for. Each runs inside the container and reports
`name result` lines: a busybox applet's exit status, or the errno of a raw system call made
by the `syscall` probe (tests/integration/security/conftest.py)."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.shocker import Shocker

# `attempt NAME CMD...` prints "NAME STATUS"; the probe's status is the call's errno.
PRELUDE = 'attempt() { name=$1; shift; "$@" >/dev/null 2>&1; echo "$name $?"; }\n'
EPERM = str(errno.EPERM)


def attempts(shocker: Shocker, *args: str, script: str) -> dict[str, str]:
    result = shocker("run", "--rm", *args, "sh", "-c", PRELUDE + script).check()
    return dict(line.split(" ", 1) for line in result.lines if " " in line)


@pytest.fixture
def host_marker() -> Iterator[Path]:
    """A file on the host that no container may reach."""
    marker = Path(f"/tmp/shocker-marker-{secrets.token_hex(4)}")
    marker.write_text("host\n")
    yield marker
    marker.unlink()


def test_proc_root_walks_stay_in_the_container(
    shocker: Shocker, busybox_id: str, host_marker: Path
) -> None:
    # /proc/PID/root and /proc/PID/cwd of every visible process (the host's are not).
    m = host_marker
    script = f"""
    attempt root cat /proc/1/root{m}
    attempt up cat /proc/1/root/../../..{m}
    attempt cwd cat /proc/1/cwd/../../../..{m}
    attempt self cat /proc/self/root/proc/1/root{m}
    for p in /proc/[0-9]*; do cat $p/root{m} 2>/dev/null && echo "reached $p"; done
    echo "same $( [ "$(stat -c %d:%i /proc/1/root/)" = "$(stat -c %d:%i /)" ] && echo yes)"
    """
    seen = attempts(shocker, busybox_id, script=script)
    assert {k: seen[k] for k in ("root", "up", "cwd", "self")} == dict.fromkeys(
        ("root", "up", "cwd", "self"), "1"
    ), seen
    assert not [k for k in seen if k == "reached"], seen
    assert seen["same"] == "yes"


def test_open_by_handle_at_is_refused(shocker: Shocker, busybox_id: str, probes: Path) -> None:
    # The 2014 "shocker" exploit: open_by_handle_at(2) opens any inode of the host's
    # filesystem by a guessed handle; it needs CAP_DAC_READ_SEARCH, which is not granted.
    # The handle: 8 bytes, FILEID_INO32_GEN, inode 2 (a root directory), generation 0.
    script = "attempt handle /probe/syscall 304 -100 x08000000010000000200000000000000 0\n"
    seen = attempts(shocker, "-v", f"{probes}:/probe:ro", busybox_id, script=script)
    assert seen == {"handle": EPERM}


def test_only_stdio_reaches_the_container(
    shocker: Shocker, busybox_id: str, run_detached: Callable[..., str]
) -> None:
    # CVE-2024-21626 class: a runtime descriptor leaked into the container (a host
    # directory or the cgroup fs) is a way back out, with chroot or /proc/self/fd/N/...
    container = run_detached(busybox_id, "sleep", "600")
    script = "ls /proc/1/fd; ls /proc/$$/fd"
    listed = shocker("exec", container, "sh", "-c", script).check().lines
    assert listed[:3] == ["0", "1", "2"], listed
    # The exec'd shell's own: 0, 1, 2 and the descriptor `ls` reads /proc/PID/fd with.
    assert listed[3:6] == ["0", "1", "2"] and len(listed) <= 7, listed


def test_mount_umount_pivot_root_are_refused(
    shocker: Shocker, busybox_id: str, host_marker: Path
) -> None:
    # Remounting or re-rooting needs CAP_SYS_ADMIN; chroot (allowed, as Docker) only
    # narrows the view: the old root is detached, nothing of the host is left under it.
    script = f"""
    attempt proc mount -t proc proc /mnt
    attempt bind mount --bind / /mnt
    attempt remount mount -o remount,rw /proc/sys
    attempt umount umount /etc/hosts
    attempt pivot sh -c 'mkdir -p /tmp/new/old && cd /tmp/new && pivot_root . old'
    attempt chroot chroot /proc/1/root cat {host_marker}
    attempt unshare unshare -m true
    """
    seen = attempts(shocker, busybox_id, script=script)
    assert all(status != "0" for status in seen.values()), seen
    assert len(seen) == 7, seen


def test_host_processes_cannot_be_ptraced_or_signalled(
    shocker: Shocker, busybox_id: str, probes: Path
) -> None:
    # Host processes are outside the container's pid namespace: PTRACE_ATTACH (16) and
    # kill find no such process, whatever pid is guessed.
    host_pid = os.getpid()
    script = f"""
    attempt ptrace /probe/syscall 101 16 {host_pid} 0 0
    attempt kill kill -0 {host_pid}
    """
    seen = attempts(shocker, "-v", f"{probes}:/probe:ro", busybox_id, script=script)
    assert seen["ptrace"] == str(errno.ESRCH), seen
    assert seen["kill"] != "0", seen


def test_sys_and_proc_sys_are_read_only(shocker: Shocker, busybox_id: str) -> None:
    # uevent_helper and core_pattern run a program as root on the host when written
    # (the classic sysfs/procfs escapes); sysrq-trigger acts on the host kernel.
    script = """
    attempt uevent sh -c 'echo /x > /sys/kernel/uevent_helper'
    attempt core sh -c 'echo "|/x" > /proc/sys/kernel/core_pattern'
    attempt sysrq sh -c 'echo h > /proc/sysrq-trigger'
    attempt sysctl sh -c 'echo 1 > /proc/sys/vm/drop_caches'
    attempt modprobe sh -c 'echo /x > /proc/sys/kernel/modprobe'
    """
    seen = attempts(shocker, busybox_id, script=script)
    assert all(status != "0" for status in seen.values()), seen
    assert len(seen) == 5, seen


def test_the_cgroup_filesystem_is_not_writable(shocker: Shocker, busybox_id: str) -> None:
    # CVE-2022-0492: a cgroup v1 hierarchy mounted by the container, a child cgroup with
    # notify_on_release, and release_agent runs as root on the host.
    script = """
    attempt mkdir mkdir /sys/fs/cgroup/escape
    attempt mount mount -t cgroup -o rdma cgroup /mnt
    attempt agent sh -c 'for f in /sys/fs/cgroup/*/release_agent /sys/fs/cgroup/release_agent; do
        [ -e "$f" ] && echo /x > "$f" && exit 0; done; exit 1'
    """
    seen = attempts(shocker, busybox_id, script=script)
    assert all(status != "0" for status in seen.values()), seen
    assert len(seen) == 3, seen


def test_modules_kexec_reboot_and_the_clock_are_refused(
    shocker: Shocker, busybox_id: str, probes: Path
) -> None:
    # Each call checks its capability (SYS_MODULE, SYS_BOOT, SYS_TIME) before its
    # arguments, so null arguments show the refusal without doing anything when allowed:
    # reboot with bad magic is EINVAL, settimeofday(NULL, NULL) changes nothing.
    script = """
    attempt init_module /probe/syscall 175 0 0 0
    attempt finit_module /probe/syscall 313 -1 0 0
    attempt delete_module /probe/syscall 176 0 0
    attempt kexec_load /probe/syscall 246 0 0 0 0
    attempt kexec_file_load /probe/syscall 320 -1 -1 0 0 0
    attempt reboot /probe/syscall 169 0 0 0 0
    attempt settimeofday /probe/syscall 164 0 0
    """
    seen = attempts(shocker, "-v", f"{probes}:/probe:ro", busybox_id, script=script)
    # ENOSYS: a kernel built without modules or kexec has nothing to refuse.
    refused = {EPERM, str(errno.ENOSYS)}
    assert set(seen.values()) <= refused, seen
    assert {k for k, v in seen.items() if v == EPERM} >= {"reboot", "settimeofday"}, seen
    assert set(seen) == {
        "init_module",
        "finit_module",
        "delete_module",
        "kexec_load",
        "kexec_file_load",
        "reboot",
        "settimeofday",
    }


def test_exec_refuses_a_container_whose_pid_1_left_its_namespaces(
    shocker: Shocker, busybox_id: str, run_detached: Callable[..., str]
) -> None:
    # Process 1 makes a user namespace of its own, and in it new mount and network
    # namespaces it controls; an exec must not join them with the runtime's privileges.
    # The default seccomp profile refuses unshare already: without it, exec still holds.
    unconfined = ("--security-opt", "seccomp=unconfined")
    container = run_detached(
        *unconfined, busybox_id, "unshare", "-U", "-r", "-m", "-n", "sleep", "600"
    )
    result = shocker("exec", container, "true")
    assert result.rc == 125, str(result)
    assert "moved to namespaces of its own" in result.err, str(result)
    assert len(result.err.strip().splitlines()) == 1, str(result)


def _host_disks() -> list[tuple[str, str]]:
    """(name, "major minor") of the host's block devices that are disks (not loop/ram)."""
    found = []
    for entry in sorted(Path("/sys/block").iterdir()):
        if entry.name.startswith(("loop", "ram", "zram")):
            continue
        with contextlib.suppress(OSError):
            major, minor = (entry / "dev").read_text().strip().split(":")
            found.append((entry.name, f"{major} {minor}"))
    return found


def test_host_disks_are_neither_present_nor_openable(shocker: Shocker, busybox_id: str) -> None:
    # The classic raw-disk escape: mknod the host's disk (CAP_MKNOD is a default
    # capability), then read or debugfs it past every mount. /dev holds no block device,
    # and the device cgroup refuses opening one made by hand (Docker's rules).
    disks = _host_disks()
    if not disks:
        pytest.skip("this host has no disk in /sys/block besides loop devices")
    script = "echo blocks $(find /dev -type b | wc -l)\n"
    for name, numbers in disks:
        script += (
            f"attempt {name} sh -c 'mknod /tmp/{name} b {numbers} && head -c 512 /tmp/{name}'\n"
        )
    seen = attempts(shocker, busybox_id, script=script)
    assert seen.pop("blocks") == "0", seen
    assert seen and all(status != "0" for status in seen.values()), seen
