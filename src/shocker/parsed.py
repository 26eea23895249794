"""The values a hand-written command-line parser gives back (shocker.cli.flags for run,
exec and ps; shocker.ocicli.args for shocker-runtime): attributes, as argparse.Namespace
holds them, so the command code takes either."""

from __future__ import annotations

from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


class Namespace:
    """The parsed values as attributes, like argparse.Namespace."""

    def __init__(self, **values: object) -> None:
        self.__dict__.update(values)

    if TYPE_CHECKING:
        # As typeshed's argparse.Namespace: the attributes are the command's flags.
        def __getattr__(self, name: str) -> Any: ...

        def __setattr__(self, name: str, value: Any) -> None: ...

    def __eq__(self, other: object) -> bool:
        return vars(self) == vars(other)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in sorted(self.__dict__.items()))
        return f"Namespace({inner})"
