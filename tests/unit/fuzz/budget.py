"""How long the fuzz tests run: a bounded pass in the suite, longer from scripts/fuzz.sh
(SHOCKER_FUZZ_EXAMPLES examples per test)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("SHOCKER_FUZZ_EXAMPLES", "80"))

fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize="SHOCKER_FUZZ_EXAMPLES" not in os.environ,  # the suite's pass repeats itself
)
