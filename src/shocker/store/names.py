"""Comparing image names as users type them: `busybox` = `docker.io/library/busybox:latest`."""

from __future__ import annotations

DEFAULT_TAG = "latest"
DOCKER_HUB_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io")


def split_name(text: str) -> tuple[str, str]:
    """(repository, ":tag" or "@digest"), the tag defaulting to latest."""
    if "@" in text:
        name, _, digest = text.partition("@")
        return _short_repository(name.rpartition(":")[0] if _has_tag(name) else name), f"@{digest}"
    if _has_tag(text):
        name, _, tag = text.rpartition(":")
        return _short_repository(name), f":{tag}"
    return _short_repository(text), f":{DEFAULT_TAG}"


def _has_tag(name: str) -> bool:
    return ":" in name.rpartition("/")[2]


def _short_repository(name: str) -> str:
    """Docker Hub's host and `library/` dropped, as Docker's familiar names do."""
    parts = name.split("/")
    if len(parts) > 1 and parts[0] in DOCKER_HUB_HOSTS:
        parts = parts[1:]
    if len(parts) == 2 and parts[0] == "library":
        parts = parts[1:]
    return "/".join(parts)


def normalize(text: str) -> str:
    """The comparable form of an image name: `repository:tag` or `repository@digest`."""
    repository, suffix = split_name(text)
    return repository + suffix


def has_registry_host(repository: str) -> bool:
    first, sep, _ = repository.partition("/")
    return bool(sep) and ("." in first or ":" in first or first == "localhost")


def without_registry_host(text: str) -> str:
    """`host:5000/app:1` -> `app:1` (for names typed without the registry they came from)."""
    repository, suffix = split_name(text)
    if has_registry_host(repository):
        repository = _short_repository(repository.partition("/")[2])
    return repository + suffix
