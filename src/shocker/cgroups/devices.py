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


@record(frozen=True, kw_only=True)
class DeviceRule:
    """One entry of the runtime spec's linux.resources.devices, with its fields: rules apply
    in order, a later match overriding an earlier one; type 'a' is every device; None for a
    major or minor means any. (A light copy of the OCI model's record: this one sits on
    every container's start path.)"""

    allow: bool
    type: str = "a"
    major: int | None = None
    minor: int | None = None
    access: str = "rwm"  # a subset of "rwm"

    def line(self) -> str:
        """The v1 devices.allow/deny form: `c 1:3 rwm`, `c 136:* rwm`, `a`."""
        if self.type == "a":
            return "a"
        major = "*" if self.major is None else str(self.major)
        minor = "*" if self.minor is None else str(self.minor)
        return f"{self.type} {major}:{minor} {self.access}"


def _allow(kind: str, major: int | None, minor: int | None, access: str = "rwm") -> DeviceRule:
    return DeviceRule(allow=True, type=kind, major=major, minor=minor, access=access)


# Docker's default (moby oci/defaults.go, runc's AllowedDevices): deny all, then allow.
DEFAULT_RULES = (
    DeviceRule(allow=False),
    _allow("c", None, None, "m"),
    _allow("b", None, None, "m"),
    _allow("c", 1, 3),  # null
    _allow("c", 1, 5),  # zero
    _allow("c", 1, 7),  # full
    _allow("c", 1, 8),  # random
    _allow("c", 1, 9),  # urandom
    _allow("c", 5, 0),  # tty
    _allow("c", 5, 1),  # console
    _allow("c", 5, 2),  # ptmx
    _allow("c", 136, None),  # pts/*
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
        return _allow(self.kind, self.major, self.minor, self.access)


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
    """(file, line) writes for a v1 devices cgroup, in the rules' order."""
    return [("devices.allow" if r.allow else "devices.deny", r.line()) for r in rules]


# <linux/bpf.h>: struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; },
# access_type = (access << 16) | type.
_TYPES = {"b": 1, "c": 2}
_ACCESS = {"m": 1, "r": 2, "w": 4}


def v2_program(rules: tuple[DeviceRule, ...]) -> bytes:
    """A cgroup-device program for `rules` (returns 1 to allow, 0 to deny): the rules are
    tested last first, so the last that matches decides; none matching denies."""
    from shocker.linux import bpf

    code = [
        bpf.load_word(bpf.R2, bpf.R1, 0),
        bpf.and_imm(bpf.R2, 0xFFFF),  # device type
        bpf.load_word(bpf.R3, bpf.R1, 0),
        bpf.shift_right(bpf.R3, 16),  # access asked for
        bpf.load_word(bpf.R4, bpf.R1, 4),  # major
        bpf.load_word(bpf.R5, bpf.R1, 8),  # minor
    ]
    for rule in reversed(rules):
        block: list[tuple[str, int, int]] = []  # (test, register, value)
        if rule.type != "a":
            block.append(("eq", bpf.R2, _TYPES[rule.type]))
        if rule.major is not None and rule.type != "a":
            block.append(("eq", bpf.R4, rule.major))
        if rule.minor is not None and rule.type != "a":
            block.append(("eq", bpf.R5, rule.minor))
        outside = sum(v for c, v in _ACCESS.items() if c not in rule.access)
        if outside:
            # An allow covers a request only when it asks for nothing outside the rule's
            # access; a deny applies as soon as it asks for anything inside it.
            block.append(("within" if rule.allow else "touches", bpf.R3, outside))
        # Each "eq" test is one jump, an access test three (copy, mask, jump); then
        # r0 = verdict and exit: a failed test skips what is left of the block.
        sizes = [1 if test == "eq" else 3 for test, _, _ in block]
        left = sum(sizes) + 2
        for (test, register, value), size in zip(block, sizes, strict=True):
            left -= size
            if test == "eq":
                code.append(bpf.jump_if_not(register, value, left))
                continue
            mask = value if test == "within" else 7 & ~value
            code += [bpf.move(bpf.R1, register), bpf.and_imm(bpf.R1, mask)]
            # within: skip unless (asked & outside) == 0; touches: skip if (asked & inside) == 0
            code.append(
                bpf.jump_if_not(bpf.R1, 0, left)
                if test == "within"
                else bpf.jump_if(bpf.R1, 0, left)
            )
        code += [bpf.move_imm(bpf.R0, 1 if rule.allow else 0), bpf.exit_()]
        if not block:
            # Matches everything: what follows could never run, and the verifier refuses
            # unreachable instructions.
            return b"".join(code)
    code += [bpf.move_imm(bpf.R0, 0), bpf.exit_()]
    return b"".join(code)


def attach_v2(directory: str, rules: tuple[DeviceRule, ...]) -> None:
    from shocker.linux import bpf

    bpf.attach_to_cgroup(
        directory, bpf.BPF_PROG_TYPE_CGROUP_DEVICE, bpf.BPF_CGROUP_DEVICE, v2_program(rules)
    )
