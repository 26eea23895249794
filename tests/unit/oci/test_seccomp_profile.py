"""Docker's default seccomp profile resolved against capabilities, architecture and kernel;
Docker-format profiles parsed; the OCI form read back."""

from __future__ import annotations

import pytest

from shocker.errors import UsageError
from shocker.oci.seccomp import Seccomp, SeccompSyscall
from shocker.oci.seccomp_default import DEFAULT_PROFILE
from shocker.oci.seccomp_profile import Host, kernel_version, parse_profile, resolve
from shocker.runtime.capabilities import ALL_CAPABILITIES, DEFAULT_CAPABILITIES

AMD64 = Host("amd64", (6, 1, 0))


def allowed(seccomp: Seccomp) -> set[str]:
    """Names some rule allows (with or without argument conditions)."""
    return {n for s in seccomp.syscalls if s.action == "SCMP_ACT_ALLOW" for n in s.names}


def rules_for(seccomp: Seccomp, name: str) -> list[SeccompSyscall]:
    return [s for s in seccomp.syscalls if name in s.names]


def test_default_denies_with_eperm_and_allows_the_common_calls() -> None:
    seccomp = resolve(DEFAULT_PROFILE, DEFAULT_CAPABILITIES, AMD64)
    assert (seccomp.default_action, seccomp.default_errno_ret) == ("SCMP_ACT_ERRNO", 1)
    names = allowed(seccomp)
    assert {"read", "write", "execve", "openat", "capset", "setuid", "chroot"} <= names
    assert not {"keyctl", "add_key", "pivot_root", "kexec_load", "io_uring_setup"} & names
    assert len(rules_for(seccomp, "read")[0].names) > 350


def test_without_sys_admin_namespaces_and_mounts_are_denied() -> None:
    seccomp = resolve(DEFAULT_PROFILE, DEFAULT_CAPABILITIES, AMD64)
    names = allowed(seccomp)
    assert not {"mount", "umount2", "unshare", "setns", "bpf", "sethostname"} & names
    (clone,) = rules_for(seccomp, "clone")
    (arg,) = clone.args
    assert (arg.index, arg.value, arg.value_two, arg.op) == (0, 0x7E020000, 0, "SCMP_CMP_MASKED_EQ")
    (clone3,) = rules_for(seccomp, "clone3")
    assert (clone3.action, clone3.errno_ret) == ("SCMP_ACT_ERRNO", 38)


def test_with_sys_admin_they_are_allowed_and_clone_is_unconditional() -> None:
    seccomp = resolve(DEFAULT_PROFILE, DEFAULT_CAPABILITIES | {"CAP_SYS_ADMIN"}, AMD64)
    assert {"mount", "unshare", "setns", "clone", "clone3"} <= allowed(seccomp)
    assert all(not s.args for s in rules_for(seccomp, "clone"))
    assert all(s.action == "SCMP_ACT_ALLOW" for s in rules_for(seccomp, "clone3"))


def test_every_gated_group_follows_its_capability() -> None:
    gated = {
        "CAP_SYS_MODULE": "init_module",
        "CAP_SYS_BOOT": "reboot",
        "CAP_SYS_TIME": "settimeofday",
        "CAP_SYS_RAWIO": "iopl",
        "CAP_SYS_PTRACE": "kcmp",
        "CAP_SYS_NICE": "mbind",
        "CAP_SYS_PACCT": "acct",
        "CAP_DAC_READ_SEARCH": "open_by_handle_at",
        "CAP_SYSLOG": "syslog",
        "CAP_BPF": "bpf",
        "CAP_PERFMON": "perf_event_open",
    }
    for capability, name in gated.items():
        assert name not in allowed(resolve(DEFAULT_PROFILE, DEFAULT_CAPABILITIES, AMD64))
        assert name in allowed(resolve(DEFAULT_PROFILE, {capability}, AMD64)), capability
    assert "chroot" not in allowed(resolve(DEFAULT_PROFILE, set(), AMD64))


def test_socket_and_personality_keep_their_argument_rules() -> None:
    seccomp = resolve(DEFAULT_PROFILE, ALL_CAPABILITIES, AMD64)
    sockets = {(s.args[0].op, s.args[0].value) for s in rules_for(seccomp, "socket")}
    assert sockets == {("SCMP_CMP_LT", 38), ("SCMP_CMP_EQ", 39), ("SCMP_CMP_GT", 40)}
    personalities = {s.args[0].value for s in rules_for(seccomp, "personality")}
    assert personalities == {0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF}


def test_architecture_and_kernel_conditions() -> None:
    amd64 = resolve(DEFAULT_PROFILE, set(), AMD64)
    assert amd64.architectures == ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32")
    assert {"arch_prctl", "modify_ldt", "ptrace"} <= allowed(amd64)
    arm64 = resolve(DEFAULT_PROFILE, set(), Host("arm64", (4, 4)))
    assert arm64.architectures == ("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM")
    assert "arch_prctl" not in allowed(arm64) and "set_tls" in allowed(arm64)
    assert "ptrace" not in allowed(arm64)  # before 4.8 only CAP_SYS_PTRACE allows it
    s390 = resolve(DEFAULT_PROFILE, set(), Host("s390x", (6, 1)))
    assert [s.args[0].index for s in rules_for(s390, "clone")] == [1]


def test_kernel_versions() -> None:
    assert kernel_version("6.1.0-18-amd64") == (6, 1, 0)
    assert kernel_version("4.8") == (4, 8)
    assert kernel_version("5.15.0+") == (5, 15, 0)
    assert kernel_version("x") == ()


def test_includes_need_every_capability_excludes_any() -> None:
    profile = parse_profile(
        {
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [
                {"names": ["a"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["X", "Y"]}},
                {"name": "b", "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["X", "Y"]}},
                {"names": ["c"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "9.0"}},
            ],
        }
    )
    assert allowed(resolve(profile, {"X"}, AMD64)) == set()
    assert allowed(resolve(profile, {"X", "Y"}, AMD64)) == {"a"}
    assert allowed(resolve(profile, set(), AMD64)) == {"b"}


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        ({"defaultAction": "SCMP_ACT_MAYBE"}, "unknown seccomp action"),
        ({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": -1}, "defaultErrnoRet"),
        ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {}}, "list"),
        (
            {
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": [], "action": "SCMP_ACT_LOG"}],
            },
            "names",
        ),
        (
            {
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_LOG"}],
            },
            "either",
        ),
        (
            {
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [
                    {
                        "names": ["a"],
                        "action": "SCMP_ACT_LOG",
                        "args": [{"index": 7, "op": "SCMP_CMP_EQ"}],
                    }
                ],
            },
            "index",
        ),
        (
            {
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [
                    {"names": ["a"], "action": "SCMP_ACT_LOG", "args": [{"index": 0, "op": "LIKE"}]}
                ],
            },
            "comparison",
        ),
        (
            {
                "defaultAction": "SCMP_ACT_ALLOW",
                "architectures": ["SCMP_ARCH_X86_64"],
                "archMap": [{"architecture": "SCMP_ARCH_X86_64"}],
            },
            "not both",
        ),
        ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]}, "architecture"),
        ([], "object"),
    ],
)
def test_malformed_profiles_name_the_problem(profile: object, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_profile(profile)


def test_the_oci_form_reads_back_what_it_writes() -> None:
    seccomp = resolve(DEFAULT_PROFILE, DEFAULT_CAPABILITIES, AMD64)
    assert Seccomp.from_json(seccomp.to_json()) == seccomp
