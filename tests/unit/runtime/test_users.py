"""`-u` resolution against sample /etc/passwd and /etc/group text."""

from __future__ import annotations

import pytest

from shocker.errors import RuntimeFailure
from shocker.runtime.users import Identity, resolve_user

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
app:x:1000:1000::/home/app:/bin/sh
"""
GROUP = """\
root:x:0:
wheel:x:10:app,daemon
audio:x:29:app
nogroup:x:65534:
app:x:1000:
"""


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("", Identity(0, 0, (0,), "/root")),
        ("root", Identity(0, 0, (0,), "/root")),
        ("nobody", Identity(65534, 65534, (65534,), "/nonexistent")),
        ("app", Identity(1000, 1000, (1000, 10, 29), "/home/app")),
        ("1000", Identity(1000, 1000, (1000, 10, 29), "/home/app")),
        ("4242", Identity(4242, 0, (0,), "/")),
        ("4242:4343", Identity(4242, 4343, (4343,), "/")),
        ("app:audio", Identity(1000, 29, (29, 10), "/home/app")),
        ("nobody:0", Identity(65534, 0, (0,), "/nonexistent")),
    ],
)
def test_user_resolves_to_ids_groups_and_home(spec: str, expected: Identity) -> None:
    assert resolve_user(spec, PASSWD, GROUP) == expected


def test_unknown_user_name_is_a_start_failure() -> None:
    with pytest.raises(RuntimeFailure, match="unable to find user bob"):
        resolve_user("bob", PASSWD, GROUP)


def test_unknown_group_name_is_a_start_failure() -> None:
    with pytest.raises(RuntimeFailure, match="unable to find group staff"):
        resolve_user("app:staff", PASSWD, GROUP)


def test_missing_passwd_file_still_allows_numeric_ids() -> None:
    assert resolve_user("0", "", "") == Identity(0, 0, (0,), "/")
