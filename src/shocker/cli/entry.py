"""The `shocker` command's entry (bin/shocker starts the interpreter with -I -S and calls
main here): the cyclic garbage collector off while a command starts, site.py on demand.

Start-up creates tens of thousands of objects (modules, functions, classes, records) and
none is garbage, yet the collector walks them every 700 allocations: 23 young and 2 older
passes during `run`'s imports, ~4 ms of its ~48 ms of import CPU (measured on this
project's loaded 2-core machine, 25 runs each way). So it is off from here. Commands other
than run/exec/ps turn it on before they start (shocker.cli.main.dispatch); run and exec
once the container's process runs (shocker.runtime.supervisor, launcher, exec). ps ends
without it.
"""

from __future__ import annotations

import gc
import sys

from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType


def main() -> int:
    gc.disable()
    from shocker.cli.main import main as run_command

    return run_command()


class _SiteOnDemand:
    """The last finder on sys.meta_path, for an interpreter started with -S: the first
    import no other finder resolves (and that is not a standard module probed for, such as
    `nt`) runs site.main() once, which adds the .pth paths and the rest, then looks again."""

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if path is not None or name.partition(".")[0] in sys.stdlib_module_names:
            return None
        sys.meta_path.remove(self)
        import site
        from importlib.machinery import PathFinder

        site.main()
        return PathFinder.find_spec(name)


_FINDER = _SiteOnDemand()


def site_on_demand() -> None:
    """Called by the `shocker` script when the interpreter runs without site (-S)."""
    if sys.flags.no_site and _FINDER not in sys.meta_path:
        sys.meta_path.append(_FINDER)
