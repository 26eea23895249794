from __future__ import annotations

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
