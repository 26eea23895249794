from __future__ import annotations

from pathlib import Path

import pytest

from shocker.engine.security import SecurityOptions, parse_security_options, seccomp_for
from shocker.errors import UsageError
from shocker.runtime.capabilities import DEFAULT_CAPABILITIES


def test_security_opt_forms() -> None:
    assert parse_security_options([]) == SecurityOptions("default", True)
    assert parse_security_options(["seccomp=unconfined"]).seccomp == "unconfined"
    assert parse_security_options(["seccomp=/p.json"]).seccomp == "/p.json"
    assert parse_security_options(["no-new-privileges"]).no_new_privileges
    assert not parse_security_options(["no-new-privileges=false"]).no_new_privileges
    assert not parse_security_options(["no-new-privileges:false"]).no_new_privileges
    for bad in ("apparmor=unconfined", "seccomp=", "no-new-privileges=maybe", "label=disable"):
        with pytest.raises(UsageError, match="--security-opt"):
            parse_security_options([bad])


def test_privileged_and_unconfined_have_no_filter() -> None:
    default = SecurityOptions()
    assert seccomp_for(default, DEFAULT_CAPABILITIES, privileged=True) is None
    assert (
        seccomp_for(SecurityOptions("unconfined"), DEFAULT_CAPABILITIES, privileged=False) is None
    )
    seccomp = seccomp_for(default, DEFAULT_CAPABILITIES, privileged=False)
    assert seccomp is not None and seccomp.default_action == "SCMP_ACT_ERRNO"


def test_a_missing_profile_file_is_named() -> None:
    with pytest.raises(UsageError, match=r"/no/such/profile\.json"):
        seccomp_for(SecurityOptions("/no/such/profile.json"), (), privileged=True)


def test_the_resolved_default_is_cached_and_read_back_the_same(tmp_path: Path) -> None:
    default = SecurityOptions()
    fresh = seccomp_for(default, DEFAULT_CAPABILITIES, privileged=False)
    cache = tmp_path / "cache"
    first = seccomp_for(default, DEFAULT_CAPABILITIES, privileged=False, cache=cache)
    (kept,) = cache.iterdir()
    second = seccomp_for(default, DEFAULT_CAPABILITIES, privileged=False, cache=cache)
    assert first == second == fresh
    # Another capability set is another entry, resolved for it.
    more = seccomp_for(
        default, DEFAULT_CAPABILITIES | {"CAP_SYS_ADMIN"}, privileged=False, cache=cache
    )
    assert more == seccomp_for(default, DEFAULT_CAPABILITIES | {"CAP_SYS_ADMIN"}, privileged=False)
    assert more != fresh and len(list(cache.iterdir())) == 2
    # A damaged entry is resolved again and rewritten.
    kept.write_text(kept.read_text()[:-40])
    assert seccomp_for(default, DEFAULT_CAPABILITIES, privileged=False, cache=cache) == fresh
    assert seccomp_for(default, DEFAULT_CAPABILITIES, privileged=False, cache=cache) == fresh
