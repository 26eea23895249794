"""Restart policies: parsing and the decision after an exit (Docker's rules)."""

from __future__ import annotations

import pytest

from shocker.engine.restart import delay_s, parse_restart, should_restart
from shocker.errors import UsageError
from shocker.store.container_config import RestartPolicy


def test_parse_restart() -> None:
    assert parse_restart(None, False) == RestartPolicy()
    assert parse_restart("no", True) == RestartPolicy()
    assert parse_restart("on-failure", False) == RestartPolicy("on-failure", 0)
    assert parse_restart("on-failure:2", False) == RestartPolicy("on-failure", 2)
    assert parse_restart("unless-stopped", False) == RestartPolicy("unless-stopped", 0)
    for text, remove in (("maybe", False), ("always:1", False), ("on-failure:-1", False),
                         ("always", True)):  # fmt: skip
        with pytest.raises(UsageError):
            parse_restart(text, remove)


def test_on_failure_two_means_two_restarts_after_failures_only() -> None:
    policy = RestartPolicy("on-failure", 2)
    assert should_restart(policy, 1, 0, stopped=False)
    assert should_restart(policy, 1, 1, stopped=False)
    assert not should_restart(policy, 1, 2, stopped=False)
    assert not should_restart(policy, 0, 0, stopped=False)


def test_always_restarts_unless_stopped_by_the_user() -> None:
    for name in ("always", "unless-stopped"):
        assert should_restart(RestartPolicy(name), 0, 100, stopped=False)
        assert not should_restart(RestartPolicy(name), 0, 0, stopped=True)
    assert not should_restart(RestartPolicy("no"), 1, 0, stopped=False)


def test_back_off_doubles_to_a_minute_and_resets_after_a_long_run() -> None:
    assert [delay_s(n, 0) for n in range(4)] == [0.1, 0.2, 0.4, 0.8]
    assert delay_s(20, 0) == 60.0
    assert delay_s(20, 11.0) == 0.1
