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
    options: SecurityOptions,
    capabilities: Iterable[str],
    *,
    privileged: bool,
    cache: Path | None = None,
) -> Seccomp | None:
    """The container's linux.seccomp; None runs it unconfined. A profile file that cannot be
    read or parsed raises UsageError naming it, before any container exists. `cache`: where
    Docker's default, resolved, is kept for the next container (the store's seccomp cache)."""
    if options.seccomp == "unconfined":
        return None
    if options.seccomp == "default":
        return None if privileged else _default(frozenset(capabilities), cache)
    from shocker.oci.seccomp_profile import load_profile, resolve, this_host

    profile = load_profile(options.seccomp)  # checked even when --privileged ignores it
    if privileged:
        return None  # Docker: a privileged container is never filtered
    return resolve(profile, capabilities, this_host())


# Docker's default resolved for a capability set is the same for every container of this
# host and this shocker: it is kept as the JSON text save_seccomp writes, and read back
# instead of importing the profile's definition and resolving it (3.7 M instructions of
# every `run`, callgrind; a cache hit costs 0.9 M). The key holds everything the result
# depends on: the capabilities, the machine and kernel release, and the installed files
# that define the profile and its resolution (their size and modification time).
_DEFAULT_MAGIC = "shocker-seccomp-default 1\n"
_DEFINITIONS = ("seccomp_default.py", "seccomp_profile.py", "seccomp.py")


def _default(capabilities: frozenset[str], cache: Path | None) -> Seccomp:
    from shocker.oci.seccomp import Seccomp

    key = _default_key(capabilities) if cache is not None else None
    path = None
    if cache is not None and key is not None:
        # Named by what picks the profile (capabilities, host): a new install of shocker
        # rewrites its entry instead of adding one.
        chosen = key.rsplit("\n", len(_DEFINITIONS))[0].encode()
        path = cache / f"default-{len(chosen):04x}{sum(chosen) & 0xFFFFFF:06x}.json"
        text = _cached(path, key)
        if text is not None:
            try:
                return Seccomp.from_json(leanjson.loads(text), str(path))
            except (ValueError, UsageError):
                pass  # damaged: resolved again and rewritten
    from shocker.oci.seccomp_default import DEFAULT_PROFILE
    from shocker.oci.seccomp_profile import resolve, this_host

    resolved = resolve(DEFAULT_PROFILE, capabilities, this_host())
    if path is not None and key is not None:
        _keep(path, key, _text(resolved))
    return resolved


def _default_key(capabilities: frozenset[str]) -> str | None:
    import os

    from shocker import oci

    directory = os.path.dirname(oci.__file__)  # noqa: PTH120 (no pathlib on a start)
    uname = os.uname()
    parts = [uname.machine, uname.release, " ".join(sorted(capabilities))]
    for name in _DEFINITIONS:
        try:
            info = os.stat(os.path.join(directory, name))  # noqa: PTH116, PTH118
        except OSError:
            return None  # not installed as files: nothing to key the cache on
        parts.append(f"{name} {info.st_size} {info.st_mtime_ns}")
    return "\n".join(parts)


def _cached(path: Path, key: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, ValueError):
        return None
    header = f"{_DEFAULT_MAGIC}{len(key)}\n{key}\n"
    return text[len(header) :] if text.startswith(header) else None


def _keep(path: Path, key: str, text: str) -> None:
    """Written whole then renamed into place; a cache that cannot be written costs nothing
    but the next container's resolution."""
    from shocker.errors import StorageError
    from shocker.store.atomic import write_bytes_atomic

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        header = f"{_DEFAULT_MAGIC}{len(key)}\n{key}\n"
        write_bytes_atomic(path, (header + text).encode(), durable=False)
    except (OSError, StorageError):
        pass


def _text(seccomp: Seccomp) -> str:
    return leanjson.dumps(seccomp.to_json(), separators=(",", ":"))


def save_seccomp(directory: Path, seccomp: Seccomp) -> None:
    from shocker.store.atomic import write_bytes_atomic

    write_bytes_atomic(directory / SECCOMP_FILE, _text(seccomp).encode(), durable=False)


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
