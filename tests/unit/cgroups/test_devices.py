from __future__ import annotations

import pytest

from shocker.cgroups.devices import DEFAULT_RULES, DeviceRule, parse_device, v1_lines, v2_program
from shocker.errors import UsageError


def test_v1_denies_all_then_allows_the_standard_nodes() -> None:
    assert v1_lines(DEFAULT_RULES) == [
        ("devices.deny", "a"),
        ("devices.allow", "c *:* m"),
        ("devices.allow", "b *:* m"),
        *(("devices.allow", f"c {n} rwm") for n in ("1:3", "1:5", "1:7", "1:8", "1:9")),
        *(("devices.allow", f"c {n} rwm") for n in ("5:0", "5:1", "5:2", "136:*")),
    ]
    deny = DeviceRule(allow=False, type="c", major=1, minor=7, access="w")
    assert v1_lines((deny,)) == [("devices.deny", "c 1:7 w")]


def test_the_v2_program_ends_at_its_catch_all_rule() -> None:
    program = v2_program(DEFAULT_RULES)
    assert len(program) % 8 == 0
    # The last instructions are the deny-all rule's verdict: r0 = 0; exit (nothing after).
    assert program[-16:] == bytes([0xB7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0])
    open_ended = v2_program((DeviceRule(allow=True, type="c", major=1, minor=3),))
    assert open_ended[-16:-8] == bytes([0xB7, 0, 0, 0, 0, 0, 0, 0])  # no match: deny


def test_device_flag_forms() -> None:
    null = parse_device("/dev/null")
    assert (null.container_path, null.kind, null.major, null.minor, null.access) == (
        "/dev/null",
        "c",
        1,
        3,
        "rwm",
    )
    assert parse_device("/dev/null:/dev/nothing").container_path == "/dev/nothing"
    assert parse_device("/dev/null:r").access == "r"
    assert parse_device("/dev/null:/dev/x:wr").access == "rw"
    for bad in (
        "/dev/null:/x:rwz",
        "/etc/passwd",
        "/no/such/device",
        "dev/null",
        "/dev/null:a:b:c",
    ):
        with pytest.raises(UsageError, match="--device"):
            parse_device(bad)
