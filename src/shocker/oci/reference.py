"""Image references (`alpine`, `host:5000/a/b:tag`, `name@sha256:...`) and their short form.

Grammar: distribution/reference (reference.go) and Docker's normalisation rules
(normalize.go): Hub is the default registry and official images live under `library/`.
"""

from __future__ import annotations

import re

from shocker.errors import UsageError
from shocker.oci.digest import is_digest
from shocker.record import record

HUB_REGISTRY = "registry-1.docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", HUB_REGISTRY})
_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^\w[\w.-]{0,127}$")
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"^(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$")
_MAX_NAME = 255


@record(frozen=True)
class Reference:
    registry: str
    repository: str
    tag: str | None
    digest: str | None
    # True when the registry was not typed (Docker Hub or SHOCKER_REGISTRY stood in for it):
    # then the short form leaves out the registry and the `library/` prefix.
    implicit_registry: bool = False

    def familiar(self) -> str:
        """The name users type: `busybox:latest`, `127.0.0.1:5000/x/y:tag`, `a@sha256:...`."""
        name = self.repository
        if self.implicit_registry or self.registry == HUB_REGISTRY:
            if name.startswith("library/") and name.count("/") == 1:
                name = name.removeprefix("library/")
        else:
            name = f"{self.registry}/{name}"
        if self.tag is not None:
            name += f":{self.tag}"
        if self.digest is not None:
            name += f"@{self.digest}"
        return name

    def __str__(self) -> str:
        return self.familiar()

    def with_repository(self, repository: str) -> Reference:
        return Reference(self.registry, repository, self.tag, self.digest, self.implicit_registry)

    def with_digest(self, digest: str) -> Reference:
        return Reference(self.registry, self.repository, None, digest, self.implicit_registry)


def _invalid(text: str, why: str) -> UsageError:
    return UsageError(f"invalid reference format {text!r}: {why}")


def parse_reference(text: str, default_registry: str | None = None) -> Reference:
    """Parse what a user typed; `default_registry` (SHOCKER_REGISTRY) replaces Docker Hub."""
    if not text:
        raise _invalid(text, "empty name")
    rest, digest = text, None
    if "@" in rest:
        rest, _, digest = rest.partition("@")
        if not is_digest(digest):
            raise _invalid(text, "the digest must be sha256:<64 lowercase hex>")
    tag = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG.match(tag):
            raise _invalid(text, f"bad tag {tag!r}")
    first, sep, remainder = rest.partition("/")
    # normalize.go splitDockerDomain: the first component is a registry host when it has a dot
    # or a port, is localhost, or has uppercase letters (repository names never do).
    if sep and (any(c in first for c in ".:") or first == "localhost" or first != first.lower()):
        if not _DOMAIN.match(first):
            raise _invalid(text, f"bad registry host {first!r}")
        registry, path, implicit = first, remainder, False
        if registry in _HUB_ALIASES:
            registry = HUB_REGISTRY
    else:
        registry, path, implicit = default_registry or HUB_REGISTRY, rest, True
    if registry == HUB_REGISTRY and "/" not in path:
        path = f"library/{path}"
    elif implicit and default_registry and "/" not in path:
        # A mirror of Hub keeps Hub's layout; the client falls back to the bare name.
        path = f"library/{path}"
    components = path.split("/")
    for component in components:
        if not _COMPONENT.match(component):
            hint = " (repository names must be lowercase)" if component.lower() != component else ""
            raise _invalid(text, f"bad repository name component {component!r}{hint}")
    if len(path) > _MAX_NAME:
        raise _invalid(text, f"repository name longer than {_MAX_NAME} characters")
    if tag is None and digest is None:
        tag = "latest"
    return Reference(registry, path, tag, digest, implicit)
