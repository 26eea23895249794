"""`-u user[:group]` resolved against the container's /etc/passwd and /etc/group text.

Rules follow runc's libcontainer/user: names are looked up, numbers need no entry, the
supplementary groups are the groups that list the user by name.
"""

from __future__ import annotations

from shocker.errors import RuntimeFailure
from shocker.record import record


@record(frozen=True)
class Identity:
    uid: int
    gid: int
    groups: tuple[int, ...]
    home: str


def _entries(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(line.split(":"))
    return rows


def _passwd_entry(passwd: str, user: str) -> list[str] | None:
    for row in _entries(passwd):
        if len(row) >= 6 and (row[0] == user or (user.isdigit() and row[2] == user)):
            return row
    return None


def resolve_user(spec: str, passwd: str, group: str) -> Identity:
    """`""` (root), `name`, `uid`, `uid:gid`, `name:group` -> uid, gid, groups, home.

    Raises RuntimeFailure when a name has no entry (numbers are taken as they are)."""
    user, _, group_name = (spec or "0").partition(":")
    user = user or "0"
    entry = _passwd_entry(passwd, user)
    if entry is not None:
        uid, gid, home, login = int(entry[2]), int(entry[3]), entry[5] or "/", entry[0]
    elif user.isdigit():
        uid, gid, home, login = int(user), 0, "/", ""
    else:
        raise RuntimeFailure(f"unable to find user {user}: no matching entries in passwd file")
    if group_name:
        gid = _group_id(group_name, group)
    groups = [gid]
    if login:
        for row in _entries(group):
            if len(row) >= 4 and login in row[3].split(",") and row[2].isdigit():
                number = int(row[2])
                if number not in groups:
                    groups.append(number)
    return Identity(uid=uid, gid=gid, groups=tuple(groups), home=home)


def _group_id(name: str, group: str) -> int:
    for row in _entries(group):
        if len(row) >= 3 and (row[0] == name or (name.isdigit() and row[2] == name)):
            return int(row[2])
    if name.isdigit():
        return int(name)
    raise RuntimeFailure(f"unable to find group {name}: no matching entries in group file")
