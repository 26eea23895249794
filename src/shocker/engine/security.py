"""`--security-opt` and the container's seccomp profile: Docker's default resolved against
the container's capabilities, a user's Docker-format profile, or none (unconfined,
--privileged). The resolved profile is kept beside the container's record (seccomp.json)
for every start and exec.
"""

from __future__ import annotations

from shocker import leanjson
from shocker.errors import UsageError
from shocker.record import record
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from shocker.oci.seccomp import Seccomp

SECCOMP_FILE = "seccomp.json"


@record(frozen=True)
class SecurityOptions:
    seccomp: str = "default"  # "default", "unconfined", or a profile's path
    no_new_privileges: bool = True


def parse_security_options(values: Iterable[str]) -> SecurityOptions:
    """Docker's `--security-opt` forms: `seccomp=unconfined|PROFILE.json`,
    `no-new-privileges[=true|false]` (also with ':'); `label`/`apparmor` are refused, as
    this engine has neither SELinux nor AppArmor."""
    seccomp = "default"
    no_new_privileges = True
    for value in values:
        key, sep, setting = value.partition("=")
        if not sep and key.startswith("no-new-privileges:"):
            key, sep, setting = value.partition(":")
        if key == "seccomp" and setting:
            seccomp = setting
        elif key == "no-new-privileges" and setting in ("", "true", "false"):
            no_new_privileges = setting != "false"
        else:
            raise UsageError(
                f"invalid --security-opt '{value}'",
                hint="use seccomp=unconfined, seccomp=PROFILE.json or no-new-privileges",
            )
    return SecurityOptions(seccomp, no_new_privileges)


def seccomp_for(
    options: SecurityOptions, capabilities: Iterable[str], *, privileged: bool
) -> Seccomp | None:
    """The container's linux.seccomp; None runs it unconfined. A profile file that cannot be
    read or parsed raises UsageError naming it, before any container exists."""
    if options.seccomp == "unconfined":
        return None
    from shocker.oci.seccomp_profile import load_profile, resolve, this_host

    if options.seccomp == "default":
        from shocker.oci.seccomp_default import DEFAULT_PROFILE

        profile = DEFAULT_PROFILE
    else:
        profile = load_profile(options.seccomp)  # checked even when --privileged ignores it
    if privileged:
        return None  # Docker: a privileged container is never filtered
    return resolve(profile, capabilities, this_host())


def save_seccomp(directory: Path, seccomp: Seccomp) -> None:
    from shocker.store.atomic import write_bytes_atomic

    text = leanjson.dumps(seccomp.to_json(), separators=(",", ":"))
    write_bytes_atomic(directory / SECCOMP_FILE, text.encode(), durable=False)


def load_seccomp(directory: Path) -> Seccomp:
    from shocker.errors import StorageError
    from shocker.oci.seccomp import Seccomp

    path = directory / SECCOMP_FILE
    try:
        with open(path, "rb") as f:
            data = leanjson.loads(f.read())
    except (OSError, ValueError) as error:
        raise StorageError(f"cannot read the container's seccomp profile {path}: {error}") from None
    return Seccomp.from_json(data, str(path))
