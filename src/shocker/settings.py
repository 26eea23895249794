"""Settings: built once from the environment (and global flags), then passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from shocker.errors import UsageError
from shocker.record import field, record


def _int_env(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"{name} must be a whole number, not {raw!r}") from None
    if value <= 0:
        raise UsageError(f"{name} must be positive, not {raw!r}")
    return value


def _userns_env(env: Mapping[str, str]) -> str:
    raw = env.get("SHOCKER_USERNS", "").strip()
    if raw and raw.partition(":")[0] not in ("auto", "host"):
        raise UsageError(f"SHOCKER_USERNS must be auto or host, not {raw!r}")
    return raw or "host"


@record(frozen=True)
class Settings:
    """Everything configurable, with the original's defaults."""

    root: Path = Path("/var/shocker")
    # host[:port] that replaces Docker Hub (a mirror or a private registry).
    registry: str | None = None
    registry_user: str | None = None
    registry_pass: str | None = None
    # Registries reached over plain HTTP besides loopback ones (host[:port]).
    insecure_registries: tuple[str, ...] = ()
    mem_limit_mb: int = 512
    cpu_shares: int = 1024
    pids_limit: int = 4096
    bridge: str = "bridge0"
    # The bridge's own address with the subnet's prefix length, as the original writes it.
    subnet: str = "10.0.0.1/24"
    cgroup_root: Path = Path("/sys/fs/cgroup")
    # Every container's cgroup lives below this one (per controller on v1).
    cgroup_parent: str = "shocker"
    # Prefix of shocker's own iptables chains.
    chain_prefix: str = "SHOCKER"
    # The OCI runtime `run` uses by default ("" is shocker's own; runc, crun or a path).
    runtime: str = ""
    # Extra CAs for every registry (SHOCKER_CA_CERT), and Docker's per-registry certs.d.
    ca_cert: Path | None = None
    certs_d: Path = Path("/etc/shocker/certs.d")
    # The default of `run --userns` ("auto" or "host"), and where subordinate ids come from.
    userns: str = "host"
    subuid: Path = Path("/etc/subuid")
    subgid: Path = Path("/etc/subgid")
    docker_config: Path = field(default_factory=lambda: Path.home() / ".docker/config.json")
    debug: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read SHOCKER_* variables; bad values raise UsageError."""
        env = os.environ if env is None else env
        insecure = tuple(
            h.strip() for h in env.get("SHOCKER_INSECURE_REGISTRIES", "").split(",") if h.strip()
        )
        docker_config_dir = env.get("DOCKER_CONFIG")
        return cls(
            root=Path(env.get("SHOCKER_ROOT") or "/var/shocker"),
            registry=env.get("SHOCKER_REGISTRY") or None,
            registry_user=env.get("SHOCKER_REGISTRY_USER") or None,
            registry_pass=env.get("SHOCKER_REGISTRY_PASS") or None,
            insecure_registries=insecure,
            mem_limit_mb=_int_env(env, "SHOCKER_MEM_LIMIT", 512),
            cpu_shares=_int_env(env, "SHOCKER_CPU_SHARE", 1024),
            pids_limit=_int_env(env, "SHOCKER_PIDS_LIMIT", 4096),
            bridge=env.get("SHOCKER_BRIDGE") or "bridge0",
            subnet=env.get("SHOCKER_SUBNET") or "10.0.0.1/24",
            cgroup_root=Path(env.get("SHOCKER_CGROUP_ROOT") or "/sys/fs/cgroup"),
            cgroup_parent=env.get("SHOCKER_CGROUP_PARENT") or "shocker",
            chain_prefix=env.get("SHOCKER_CHAIN_PREFIX") or "SHOCKER",
            runtime=env.get("SHOCKER_RUNTIME") or "",
            ca_cert=Path(env["SHOCKER_CA_CERT"]) if env.get("SHOCKER_CA_CERT") else None,
            certs_d=Path(env.get("SHOCKER_CERTS_D") or "/etc/shocker/certs.d"),
            userns=_userns_env(env),
            subuid=Path(env.get("SHOCKER_SUBUID") or "/etc/subuid"),
            subgid=Path(env.get("SHOCKER_SUBGID") or "/etc/subgid"),
            docker_config=(
                Path(docker_config_dir) / "config.json"
                if docker_config_dir
                else Path.home() / ".docker/config.json"
            ),
            debug=env.get("SHOCKER_DEBUG", "") not in ("", "0"),
        )
