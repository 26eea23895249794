"""The device cgroup: which device nodes a container may create (mknod) and open.

Docker's default: any node may be made, but only the standard ones (null, zero, full,
random, urandom, tty, console, ptmx and the pts) opened. On v1 as devices.deny/allow lines
(Documentation/admin-guide/cgroup-v1/devices.rst); on v2 as a BPF_PROG_TYPE_CGROUP_DEVICE
program attached to the container's cgroup (cgroup-v2.rst, "Device controller").
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from shocker.errors import UsageError
from shocker.record import record


@record(frozen=True)
class DeviceRule:
    """An allow rule: kind 'c', 'b' or 'a' (all); None for a major or minor means any."""

    kind: str
    major: int | None
    minor: int | None
    access: str  # a subset of "rwm"

    def line(self) -> str:
        """The v1 devices.allow form: `c 1:3 rwm`, `c 136:* rwm`, `a`."""
        if self.kind == "a":
            return "a"
        major = "*" if self.major is None else str(self.major)
        minor = "*" if self.minor is None else str(self.minor)
        return f"{self.kind} {major}:{minor} {self.access}"


DEFAULT_RULES = (
    DeviceRule("c", None, None, "m"),
    DeviceRule("b", None, None, "m"),
    DeviceRule("c", 1, 3, "rwm"),  # null
    DeviceRule("c", 1, 5, "rwm"),  # zero
    DeviceRule("c", 1, 7, "rwm"),  # full
    DeviceRule("c", 1, 8, "rwm"),  # random
    DeviceRule("c", 1, 9, "rwm"),  # urandom
    DeviceRule("c", 5, 0, "rwm"),  # tty
    DeviceRule("c", 5, 1, "rwm"),  # console
    DeviceRule("c", 5, 2, "rwm"),  # ptmx
    DeviceRule("c", 136, None, "rwm"),  # pts/*
)


@record(frozen=True)
class HostDevice:
    """`--device HOST[:CONTAINER][:PERMISSIONS]`: a host node made inside, and allowed."""

    host_path: str
    container_path: str
    kind: str  # 'c' or 'b'
    major: int
    minor: int
    mode: int
    access: str

    def rule(self) -> DeviceRule:
        return DeviceRule(self.kind, self.major, self.minor, self.access)


def parse_device(text: str) -> HostDevice:
    """Docker's `--device` forms; the host node must exist and be a device."""
    parts = text.split(":")
    access = "rwm"
    if len(parts) == 3 or (len(parts) == 2 and not parts[1].startswith("/")):
        access = parts.pop()
    if len(parts) > 2 or not all(parts) or not access or not set(access) <= set("rwm"):
        raise UsageError(f"invalid --device '{text}': use HOST[:CONTAINER][:rwm]")
    host = parts[0]
    inside = parts[-1]
    if not host.startswith("/") or not inside.startswith("/"):
        raise UsageError(f"invalid --device '{text}': the paths must be absolute")
    try:
        info = Path(host).stat()
    except OSError as error:
        raise UsageError(f"invalid --device '{text}': {host}: {error.strerror}") from None
    if not (stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)):
        raise UsageError(f"invalid --device '{text}': {host} is not a device node")
    return HostDevice(
        host_path=host,
        container_path=os.path.normpath(inside),
        kind="c" if stat.S_ISCHR(info.st_mode) else "b",
        major=os.major(info.st_rdev),
        minor=os.minor(info.st_rdev),
        mode=stat.S_IMODE(info.st_mode),
        access="".join(c for c in "rwm" if c in access),
    )


def v1_lines(rules: tuple[DeviceRule, ...]) -> list[tuple[str, str]]:
    """(file, line) writes for a v1 devices cgroup: deny everything, then allow each rule."""
    return [("devices.deny", "a"), *(("devices.allow", r.line()) for r in rules)]


# <linux/bpf.h>: struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; },
# access_type = (access << 16) | type.
_TYPES = {"b": 1, "c": 2}
_ACCESS = {"m": 1, "r": 2, "w": 4}


def v2_program(rules: tuple[DeviceRule, ...]) -> bytes:
    """A cgroup-device program allowing exactly `rules` (1 = allow, 0 = deny)."""
    from shocker.linux import bpf

    code = [
        bpf.load_word(bpf.R2, bpf.R1, 0),
        bpf.and_imm(bpf.R2, 0xFFFF),  # device type
        bpf.load_word(bpf.R3, bpf.R1, 0),
        bpf.shift_right(bpf.R3, 16),  # access asked for
        bpf.load_word(bpf.R4, bpf.R1, 4),  # major
        bpf.load_word(bpf.R5, bpf.R1, 8),  # minor
    ]
    for rule in rules:
        block: list[tuple[str, int, int]] = []  # (test, register, value)
        if rule.kind != "a":
            block.append(("eq", bpf.R2, _TYPES[rule.kind]))
            refused = sum(v for c, v in _ACCESS.items() if c not in rule.access)
            if refused:
                block.append(("none", bpf.R3, refused))
            if rule.major is not None:
                block.append(("eq", bpf.R4, rule.major))
            if rule.minor is not None:
                block.append(("eq", bpf.R5, rule.minor))
        # Each test is one jump, except "no refused access bit" (copy, mask, jump); then
        # r0 = 1 and exit: a failed test skips what is left of the block.
        sizes = [3 if test == "none" else 1 for test, _, _ in block]
        left = sum(sizes) + 2
        for (test, register, value), size in zip(block, sizes, strict=True):
            left -= size
            if test == "eq":
                code.append(bpf.jump_if_not(register, value, left))
            else:
                code += [
                    bpf.move(bpf.R1, register),
                    bpf.and_imm(bpf.R1, value),
                    bpf.jump_if_not(bpf.R1, 0, left),
                ]
        code += [bpf.move_imm(bpf.R0, 1), bpf.exit_()]
    code += [bpf.move_imm(bpf.R0, 0), bpf.exit_()]
    return b"".join(code)


def attach_v2(directory: str, rules: tuple[DeviceRule, ...]) -> None:
    from shocker.linux import bpf

    bpf.attach_to_cgroup(
        directory, bpf.BPF_PROG_TYPE_CGROUP_DEVICE, bpf.BPF_CGROUP_DEVICE, v2_program(rules)
    )
