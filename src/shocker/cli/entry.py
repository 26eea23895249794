"""The `shocker` console entry: the cyclic garbage collector off while a command starts.

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


def main() -> int:
    gc.disable()
    from shocker.cli.main import main as run_command

    return run_command()
