"""TYPE_CHECKING without importing typing (~3 ms at start-up); mypy honours the name itself.

The modules every container start imports take the signal module's C part, `_signal`, at
run time (`if TYPE_CHECKING: import signal` / `else: import _signal as signal`): the same
functions and constants, but `signal` builds three IntEnums with enum, 3.2 M instructions
of every start (callgrind, python -I -S with pathlib already loaded: 92.7 M against 89.5),
and wraps each signal.signal() call in them (pid 1 resets 62 dispositions). Their
handlers are plain ints there; no code of theirs compares them with the enums.
"""

from __future__ import annotations

TYPE_CHECKING = False
