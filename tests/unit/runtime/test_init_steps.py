"""A container's init under shocker's own runtime runs, after pivot_root, the steps that
sequence.init_steps gives shocker-runtime and `run --explain` for the same container."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shocker.oci import runtime_spec as rs
from shocker.runtime import init, sequence
from shocker.runtime.capabilities import ALL_CAPABILITIES, DEFAULT_CAPABILITIES
from shocker.runtime.plan import Mask, ReadOnly
from shocker.runtime.spec import DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, ContainerSpec
from shocker.runtime.users import Identity

IDENTITY = Identity(uid=1000, gid=100, groups=(100, 10), home="/home/u")
NOFILE = rs.Rlimit("RLIMIT_NOFILE", 2048, 1024)


def container(**changes: Any) -> ContainerSpec:
    fields: dict[str, Any] = {
        "id": "ps-7e57a",
        "rootfs": Path("/r"),
        "argv": ("sh",),
        "env": ("PATH=/bin",),
        "hostname": "box",
        "log_path": Path("/log"),
        "tty": True,
        "readonly_root": True,
        "rlimits": (NOFILE,),
    }
    return ContainerSpec(**{**fields, **changes})


def oci(spec: ContainerSpec, names: frozenset[str]) -> rs.Spec:
    """The same container as engine/bundle.py writes it for the other runtimes."""
    return rs.Spec(
        root=rs.Root(path="/r", readonly=spec.readonly_root),
        process=rs.Process(
            args=spec.argv,
            env=("PATH=/bin", "HOSTNAME=box", "HOME=/home/u", "TERM=xterm"),
            user=rs.User(uid=1000, gid=100, additional_gids=(10,)),
            terminal=spec.tty,
            capabilities=rs.Capabilities.same(tuple(sorted(names))),
            rlimits=spec.rlimits,
            no_new_privileges=spec.no_new_privileges,
        ),
        hostname=spec.hostname,
        linux=rs.Linux(
            masked_paths=() if spec.privileged else DEFAULT_MASKED_PATHS,
            readonly_paths=() if spec.privileged else DEFAULT_READONLY_PATHS,
        ),
    )


def test_after_pivot_root_the_init_runs_the_shared_sequence() -> None:
    spec = container()
    steps = init.confinement(spec, IDENTITY, b"\0" * 8, userns=7)
    shared = sequence.init_steps(oci(spec, DEFAULT_CAPABILITIES), "/r", [], b"\0" * 8, 7)
    assert steps == shared[2:]  # all but the mounts and pivot_root
    assert sequence.names(steps)[:3] == ["ReadonlyRoot", "Hostname", "HidePaths"]
    hidden = next(s for s in steps if isinstance(s, sequence.HidePaths))
    assert hidden.steps[0] == Mask("/proc/asound")
    assert hidden.steps[-1] == ReadOnly("/proc/sysrq-trigger")


def test_privileged_keeps_every_capability_and_hides_nothing() -> None:
    spec = container(privileged=True, readonly_root=False, tty=False)
    steps = init.confinement(spec, IDENTITY, None, userns=None)
    caps = next(s for s in steps if isinstance(s, sequence.SetCapabilities))
    assert caps.bounding == caps.permitted == ALL_CAPABILITIES
    assert sequence.names(steps) == [
        "Hostname",
        "Rlimits",
        "SetUser",
        "SetCapabilities",
        "NoNewPrivileges",
        "Barrier",
        "Execute",
    ]


def test_the_init_program_runs_the_command() -> None:
    steps = init.confinement(container(), IDENTITY, None, None, init_program=9)
    assert steps[-1] == sequence.Execute(
        ("sh",), ("PATH=/bin", "HOSTNAME=box", "HOME=/home/u", "TERM=xterm"), "/", 9
    )
