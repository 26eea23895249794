"""What a build carries: its options, the state of the stage being built (config, layers,
cache key, ARGs), its result, and the predefined ARGs every Dockerfile sees."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shocker.store.store import Store

# Docker's predefined ARGs: usable without a declaration, left out of the cache key and
# of the image (docs.docker.com/reference/dockerfile/#predefined-args).
PROXY_ARGS = frozenset(
    {
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "FTP_PROXY",
        "ftp_proxy",
        "NO_PROXY",
        "no_proxy",
        "ALL_PROXY",
        "all_proxy",
    }
)


def platform_args() -> dict[str, str]:
    """BuildKit's predefined platform ARGs, in scope for FROM and for a stage's `ARG NAME`:
    build and target are both this machine (docs.docker.com/build/building/variables)."""
    from shocker.oci.platform import host_platform

    host = host_platform()
    values: dict[str, str] = {}
    for side in ("BUILD", "TARGET"):
        values[f"{side}PLATFORM"] = str(host)
        values[f"{side}OS"] = host.os
        values[f"{side}ARCH"] = host.architecture
        values[f"{side}VARIANT"] = host.variant or ""
    return values


@dataclass(frozen=True)
class BuildOptions:
    context: Path
    dockerfile: str  # its text
    ignore: str = ""  # .dockerignore text
    tags: tuple[str, ...] = ()
    build_args: dict[str, str] = field(default_factory=dict)
    no_cache: bool = False
    target: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    network: str = "bridge"
    epoch: int | None = None


@dataclass
class StageState:
    config: dict[str, Any]
    layers: list[dict[str, Any]]
    base_fs: Path | None  # the base's filesystem (no layer of this build yet)
    key: str
    args: dict[str, str] = field(default_factory=dict)  # ARGs declared in this stage

    def section(self) -> dict[str, Any]:
        section: dict[str, Any] = self.config.setdefault("config", {})
        return section

    def fs(self, store: Store) -> Path | None:
        if self.layers:
            return store.layers.path(str(self.layers[-1]["chain_id"]))
        return self.base_fs


@dataclass(frozen=True)
class BuildResult:
    image_id: str
    reused: bool  # the image of an identical earlier build


Say = Callable[[str], None]


def digest_of(parts: list[Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
