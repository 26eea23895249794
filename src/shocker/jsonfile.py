"""A JSON object kept in a file of its own (~/.docker/config.json, the network's state),
read by the packages that own such files; each names its own error class."""

from __future__ import annotations

import json

from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from shocker.errors import ShockerError


def read_object(path: Path, error: type[ShockerError]) -> dict[str, Any]:
    """The file's object, {} when there is no file; `error` when it is unreadable or holds
    something else than an object."""
    try:
        with path.open("rb") as file:
            doc = json.load(file)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise error(f"cannot read {path}: {exc}") from None
    if not isinstance(doc, dict):
        raise error(f"cannot read {path}: not a JSON object")
    return doc
