"""The image configuration (OCI image spec config.md; Docker's container.image.v1): the
fields shocker runs containers from, plus a minimal valid config for imported images."""

from __future__ import annotations

from shocker import leanjson
from shocker.errors import RegistryError
from shocker.oci.digest import validate_digest
from shocker.oci.platform import host_platform
from shocker.record import record
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


DEFAULT_ENV_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _strings(value: Any, field: str) -> tuple[str, ...] | None:
    """A JSON string list; null stays None; Docker also accepts a lone string (strslice)."""
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise RegistryError(f"invalid image config: {field} must be a list of strings")


def _string(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RegistryError(f"invalid image config: {field} must be a string")
    return value


def _object(value: Any, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RegistryError(f"invalid image config: {field} must be an object")
    return value


def _port(spec: str) -> str:
    # Docker writes "80/tcp"; a bare port means TCP.
    return spec if "/" in spec else f"{spec}/tcp"


@record(frozen=True)
class ImageConfig:
    raw: dict[str, Any]
    entrypoint: tuple[str, ...] | None
    cmd: tuple[str, ...] | None
    env: tuple[str, ...]
    working_dir: str
    user: str
    exposed_ports: tuple[str, ...]
    stop_signal: str | None
    diff_ids: tuple[str, ...]
    architecture: str
    os: str

    @classmethod
    def from_json(cls, data: bytes | dict[str, Any]) -> ImageConfig:
        """Parse a config blob (or its decoded dict); RegistryError when malformed."""
        raw: object = data
        if not isinstance(data, dict):
            try:
                raw = leanjson.loads(data)
            except (ValueError, UnicodeDecodeError) as exc:
                raise RegistryError(f"invalid image config: not JSON ({exc})") from None
        if not isinstance(raw, dict):
            raise RegistryError("invalid image config: not a JSON object")
        section = _object(raw.get("config"), "config")
        rootfs = _object(raw.get("rootfs"), "rootfs")
        diff_ids = _strings(rootfs.get("diff_ids"), "rootfs.diff_ids") or ()
        for diff_id in diff_ids:
            validate_digest(diff_id)
        ports = _object(section.get("ExposedPorts"), "ExposedPorts")
        stop_signal = _string(section.get("StopSignal"), "StopSignal") or None
        return cls(
            raw=raw,
            entrypoint=_strings(section.get("Entrypoint"), "Entrypoint"),
            cmd=_strings(section.get("Cmd"), "Cmd"),
            env=_strings(section.get("Env"), "Env") or (),
            working_dir=_string(section.get("WorkingDir"), "WorkingDir"),
            user=_string(section.get("User"), "User"),
            exposed_ports=tuple(_port(str(p)) for p in ports),
            stop_signal=stop_signal,
            diff_ids=diff_ids,
            architecture=_string(raw.get("architecture"), "architecture"),
            os=_string(raw.get("os"), "os"),
        )


def empty_config(created: str | None = None) -> dict[str, Any]:
    """A minimal valid OCI config for the host's platform, with no layers and no command."""
    platform = host_platform()
    config: dict[str, Any] = {
        "architecture": platform.architecture,
        "os": platform.os,
        "config": {"Env": [DEFAULT_ENV_PATH]},
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [],
    }
    if platform.variant:
        config["variant"] = platform.variant
    if created:
        config["created"] = created
    return config


def with_history(
    config: dict[str, Any],
    created: str,
    created_by: str,
    diff_ids: list[str] | None = None,
    *,
    empty_layer: bool = False,
    comment: str | None = None,
) -> dict[str, Any]:
    """`config` (a copy) with one more history entry and, unless `empty_layer`, `diff_ids`
    as rootfs.diff_ids (the layers below plus the new one, in order)."""
    result = leanjson.loads(leanjson.dumps(config))
    assert isinstance(result, dict)
    entry: dict[str, Any] = {"created": created, "created_by": created_by}
    if comment:
        entry["comment"] = comment
    if empty_layer:
        entry["empty_layer"] = True
    else:
        result["rootfs"] = {"type": "layers", "diff_ids": list(diff_ids or [])}
    result["history"] = [*list(result.get("history") or []), entry]
    result["created"] = created
    return result


def source_date_epoch(env: Mapping[str, str]) -> int | None:
    """SOURCE_DATE_EPOCH (reproducible-builds.org) as seconds; None when unset or invalid."""
    value = env.get("SOURCE_DATE_EPOCH", "")
    return int(value) if value.strip().isdigit() else None


def epoch_time(seconds: int) -> str:
    """RFC 3339 UTC of a Unix time (SOURCE_DATE_EPOCH in config `created` fields)."""
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
