"""The original README's session, end to end, including `run --rm -it` through a pty."""

from __future__ import annotations

import pexpect

from tests.support.shocker import Shocker


def test_the_originals_transcript(shocker: Shocker, busybox_id: str) -> None:
    shocker("run", busybox_id, "cat", "/etc/issue").check()
    row = next(ln for ln in shocker("ps").check().lines if "cat /etc/issue" in ln)
    container_id = row.split()[0]
    assert shocker("logs", container_id).check().out.strip() != ""
    assert shocker("rm", container_id).check().out == f"Removed: {container_id}\n"
    out = shocker("run", "--rm", busybox_id, "sh", "-c", "echo in a box").check().out
    assert out == "in a box\n"
    assert busybox_id in shocker("images").check().out


def test_interactive_terminal(shocker: Shocker, busybox_id: str) -> None:
    child = pexpect.spawn(
        shocker.argv("run", "--rm", "-it", busybox_id, "sh")[0],
        shocker.argv("run", "--rm", "-it", busybox_id, "sh")[1:],
        env=dict(shocker.env, TERM="xterm"),
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 120),
    )
    try:
        child.sendline("tty; stty size; echo $((6*7))")
        child.expect("/dev/pts/")
        child.expect("40 120")
        child.expect("42")
        child.setwinsize(30, 100)
        child.sendline("stty size")
        child.expect("30 100")
        child.sendline("exit 5")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 5


def test_exec_with_a_terminal(shocker: Shocker, busybox_id: str) -> None:
    container_id = shocker("run", "-d", busybox_id, "sleep", "60").check().lines[-1]
    try:
        argv = shocker.argv("exec", "-it", container_id, "sh")
        child = pexpect.spawn(
            argv[0], argv[1:], env=dict(shocker.env, TERM="xterm"), encoding="utf-8", timeout=20
        )
        try:
            child.sendline("tty; echo pid1=$(cat /proc/1/cmdline)")
            child.expect("/dev/pts/")
            child.expect("pid1=sleep")
            child.sendline("exit 6")
            child.expect(pexpect.EOF)
        finally:
            child.close()
        assert child.exitstatus == 6
    finally:
        shocker("rm", "-f", container_id).check()
