"""The confinement sequence as shell commands: one rendering per step, in the sequence's
order; seccomp is a comment; user, capabilities and no_new_privs gather into setpriv."""

from __future__ import annotations

from shocker.linux.syscalls import MS_BIND, MS_NODEV, MS_NOSUID, MS_RDONLY, MS_REC
from shocker.oci import runtime_spec as rs
from shocker.runtime import recipe, sequence
from shocker.runtime.plan import DeviceNode, MountStep, Remount, RemountReadonly, Step, Symlink

SPEC = rs.Spec(
    root=rs.Root(path="/r", readonly=True),
    process=rs.Process(
        args=("sh", "-c", "echo hi"),
        env=("PATH=/bin",),
        cwd="/work",
        user=rs.User(uid=1000, gid=100, additional_gids=(10,)),
        capabilities=rs.Capabilities.same(("CAP_KILL", "CAP_CHOWN")),
        rlimits=(rs.Rlimit("RLIMIT_NOFILE", 2048, 1024),),
        no_new_privileges=True,
    ),
    hostname="box",
    linux=rs.Linux(sysctl=(("net.ipv4.ip_unprivileged_port_start", "0"),)),
)
MOUNTS: list[Step] = [
    MountStep("proc", "/proc", "proc", MS_NOSUID | MS_NODEV),
    MountStep("/data", "/srv", None, MS_BIND | MS_REC, is_bind=True),
    RemountReadonly("/srv"),
    Remount("/etc/hosts", MS_RDONLY | MS_NOSUID),
    DeviceNode("/dev/null", 1, 3),
    Symlink("pts/ptmx", "/dev/ptmx"),
]


def _lines(seccomp: bytes | None) -> list[str]:
    steps = sequence.init_steps(SPEC, "/r", MOUNTS, seccomp)
    return recipe.render(steps, files=frozenset({"/etc/hosts.src"}))


def test_each_step_in_the_sequence_order() -> None:
    lines = [line for line in _lines(b"\0") if not line.startswith("#")]
    assert lines == [
        "mount --make-rprivate /",
        "mount --rbind /r /r",
        "mkdir -p /r/proc",
        "mount -t proc -o nosuid,nodev proc /r/proc",
        "mkdir -p /r/srv",
        "mount --rbind /data /r/srv",
        "mount -o remount,bind,ro /r/srv",
        "mount -o remount,bind,ro,nosuid /r/etc/hosts",
        "mknod -m 666 /r/dev/null c 1 3",
        "ln -s pts/ptmx /r/dev/ptmx",
        "cd /r",
        "pivot_root . .",
        "mount --make-rslave .",
        "umount -l .",
        "cd /",
        "mkdir -p /work",
        "mount -o remount,bind,ro /",
        "hostname box",
        "echo 0 > /proc/sys/net/ipv4/ip_unprivileged_port_start"
        "  # sysctl -w net.ipv4.ip_unprivileged_port_start=0",
        "prlimit --pid $$ --nofile=1024:2048",
        "cd /work",
        "exec setpriv --reuid=1000 --regid=100 --groups=10"
        " --bounding-set=-all,+chown,+kill --inh-caps=-all --ambient-caps=-all"
        " --no-new-privs -- env -i PATH=/bin sh -c 'echo hi'",
    ]


def test_seccomp_is_a_comment_just_before_execve() -> None:
    lines = _lines(b"\0")
    comment = next(i for i, line in enumerate(lines) if line.startswith("# seccomp"))
    assert lines[-1].startswith("exec setpriv") and comment > lines.index("cd /")
    assert not any(line.startswith("# seccomp") for line in _lines(None))


def test_a_file_bind_gets_a_file_to_mount_on() -> None:
    step = MountStep("/etc/hosts.src", "/etc/hosts", None, MS_BIND, is_bind=True)
    assert recipe.mount_step("/r", step, frozenset({"/etc/hosts.src"})) == [
        "mkdir -p /r/etc",
        "touch /r/etc/hosts",
        "mount --bind /etc/hosts.src /r/etc/hosts",
    ]
