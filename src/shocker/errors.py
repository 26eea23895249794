"""Errors shocker raises and the exit codes the CLI maps them to.

Library code raises; only `shocker.cli.main` prints (one line, optional hint).
"""

from __future__ import annotations

# Docker's conventions for `run`'s own failures.
EXIT_ENGINE = 125  # shocker itself failed
EXIT_NOT_EXECUTABLE = 126  # the command exists but cannot be run
EXIT_NOT_FOUND = 127  # the command does not exist in the container


class ShockerError(Exception):
    """A failure the user can understand: `message`, an optional `hint`."""

    exit_code: int = EXIT_ENGINE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(ShockerError):
    """Bad flags or arguments."""


class NotFound(ShockerError):
    """No image, container or volume by that name."""


class NotRunning(ShockerError):
    """The container exists but is not running."""


class Conflict(ShockerError):
    """The request clashes with existing state (name in use, running container, port taken)."""


class NotRoot(ShockerError):
    """A command that changes state was run without root."""


class StorageError(ShockerError):
    """SHOCKER_ROOT is missing, not btrfs, or an on-disk operation failed."""


class RegistryError(ShockerError):
    """The registry refused, failed, or sent something invalid."""


class DigestMismatch(RegistryError):
    """A blob's content does not match its digest or size."""


class RuntimeFailure(ShockerError):
    """The container could not be started; `exit_code` follows Docker (125/126/127)."""

    def __init__(self, message: str, hint: str | None = None, exit_code: int = EXIT_ENGINE) -> None:
        super().__init__(message, hint)
        self.exit_code = exit_code


class BuildError(ShockerError):
    """A Dockerfile step failed; the message names `Dockerfile:N`, the step and why."""

    exit_code = 1  # as `docker build` and `podman build`


class NetworkError(ShockerError):
    """Bridge, address, veth or firewall set-up failed."""


class CgroupError(ShockerError):
    """A cgroup could not be created, limited or removed."""
