"""A container's init, under shocker's own runtime and shocker-runtime alike, runs the steps
sequence.init_steps makes of its spec, in the order the confinement needs."""

from __future__ import annotations

from shocker.engine.bundle import DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS
from shocker.oci import runtime_spec as rs
from shocker.runtime import sequence
from shocker.runtime.capabilities import ALL_CAPABILITIES, DEFAULT_CAPABILITIES
from shocker.runtime.plan import Mask, ReadOnly
from shocker.runtime.rootfs import IdMappedRoot

ENV = ("PATH=/bin", "HOSTNAME=box", "HOME=/home/u", "TERM=xterm")
NOFILE = rs.Rlimit("RLIMIT_NOFILE", 2048, 1024)


def container(
    *, privileged: bool = False, readonly: bool = True, tty: bool = True, cwd: str = "/"
) -> rs.Spec:
    """As engine/bundle.py writes it."""
    names = ALL_CAPABILITIES if privileged else DEFAULT_CAPABILITIES
    return rs.Spec(
        root=rs.Root(path="/r", readonly=readonly),
        process=rs.Process(
            args=("sh",),
            env=ENV,
            cwd=cwd,
            user=rs.User(uid=1000, gid=100, additional_gids=(10,)),
            terminal=tty,
            capabilities=rs.Capabilities.same(tuple(sorted(names))),
            rlimits=(NOFILE,),
            no_new_privileges=True,
        ),
        hostname="box",
        linux=rs.Linux(
            masked_paths=() if privileged else DEFAULT_MASKED_PATHS,
            readonly_paths=() if privileged else DEFAULT_READONLY_PATHS,
        ),
    )


def test_the_filesystem_comes_first_then_the_hardening() -> None:
    steps = sequence.init_steps(container(), "/r", [], b"\0" * 8, 7)
    assert sequence.names(steps) == [
        "Mounts",
        "PivotRoot",
        "WorkingDirectory",
        "ReadonlyRoot",
        "Hostname",
        "HidePaths",
        "Barrier",
        "Rlimits",
        "JoinUserNamespace",
        "SetUser",
        "SetCapabilities",
        "NoNewPrivileges",
        "Barrier",
        "LoadSeccomp",
        "Execute",
    ]
    hidden = next(s for s in steps if isinstance(s, sequence.HidePaths))
    assert hidden.steps[0] == Mask("/proc/asound")
    assert hidden.steps[-1] == ReadOnly("/proc/sysrq-trigger")
    user = next(s for s in steps if isinstance(s, sequence.SetUser))
    assert user.groups == (10,)


def test_privileged_keeps_every_capability_and_hides_nothing() -> None:
    steps = sequence.init_steps(
        container(privileged=True, readonly=False, tty=False), "/r", [], None
    )
    caps = next(s for s in steps if isinstance(s, sequence.SetCapabilities))
    assert caps.bounding == caps.permitted == ALL_CAPABILITIES
    assert sequence.names(steps)[2:] == [
        "WorkingDirectory",
        "Hostname",
        "Rlimits",
        "SetUser",
        "SetCapabilities",
        "NoNewPrivileges",
        "Barrier",
        "Execute",
    ]


def test_an_idmapped_root_makes_the_working_directory_as_container_root() -> None:
    idmap = IdMappedRoot(7, (100000, 100000))
    steps = sequence.init_steps(container(cwd="/w"), "/r", [], None, 7, idmap=idmap)
    assert steps[0] == sequence.Mounts("/r", (), "rprivate", idmap)
    assert steps[2] == sequence.WorkingDirectory("/w", (100000, 100000))


def test_the_init_program_runs_the_command() -> None:
    steps = sequence.init_steps(container(), "/r", [], None, init_program=9)
    assert steps[-1] == sequence.Execute(("sh",), ENV, "/", 9)
