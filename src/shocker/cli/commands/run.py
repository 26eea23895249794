"""`shocker run [OPTIONS] IMAGE [COMMAND [ARG...]]`: run a command in a new container.

Options come before IMAGE; everything after IMAGE is the container's command. A single
argument with shell syntax (`'sleep 5 && ps aux'`) runs through /bin/sh -c, as in the original.
"""

from __future__ import annotations

from shocker.cli.flags import REMAINDER
from shocker.settings import Settings
from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from shocker.cli.flags import FlagParser
    from shocker.parsed import Namespace


def add_container_arguments(parser: FlagParser) -> None:
    """Options shared by `run` (and a future `create`)."""
    add = parser.add_argument
    add("-d", "--detach", action="store_true", help="run in the background, print the id")
    add("--rm", action="store_true", help="remove the container when it exits")
    add("-i", "--interactive", action="store_true", help="keep stdin open")
    add("-t", "--tty", action="store_true", help="allocate a pseudo-terminal")
    add("--name", help="a name for the container")
    add("--hostname", help="container host name (default: the container id)")
    add("--entrypoint", help="override the image's ENTRYPOINT")
    add("-e", "--env", action="append", default=[], metavar="KEY[=VALUE]")
    add("--env-file", action="append", default=[], metavar="FILE")
    add("-w", "--workdir", help="working directory inside the container")
    add("-u", "--user", help="user[:group] (names or ids from the container's /etc/passwd)")
    add("-v", "--volume", action="append", default=[], metavar="[HOST:|NAME:]CONTAINER[:OPTS]")
    add(
        "--volume-opt",
        action="append",
        default=[],
        metavar="nocopy",
        help="nocopy: new named volumes are not filled from the image",
    )
    add("--volumes-from", action="append", default=[], metavar="CONTAINER")
    add("-m", "--memory", help="memory limit (512m, 1g); default SHOCKER_MEM_LIMIT MB")
    add("--cpus", help="CPU quota in cores (1.5)")
    add("-c", "--cpu-shares", help="CPU shares (relative weight); default SHOCKER_CPU_SHARE")
    add("--pids-limit", help="maximum number of processes (default 4096; -1 for none)")
    add("--privileged", action="store_true", help="all capabilities, no masked paths")
    add("--runtime", help="OCI runtime: runc, crun or a path (default SHOCKER_RUNTIME)")
    add("--cap-add", action="append", default=[], metavar="CAP")
    add("--cap-drop", action="append", default=[], metavar="CAP")
    add("--device", action="append", default=[], metavar="HOST[:CONTAINER][:rwm]")
    add("--read-only", action="store_true", help="mount the root filesystem read-only")
    add("--tmpfs", action="append", default=[], metavar="PATH[:OPTIONS]")
    add("--sysctl", action="append", default=[], metavar="KEY=VALUE", help="namespaced only")
    add("--ulimit", action="append", default=[], metavar="NAME=SOFT[:HARD]")
    add("--cgroupns", default="private", metavar="host|private", help="cgroup namespace")
    add(
        "--userns",
        metavar="auto|host",
        help="auto: root is an unprivileged host id range (auto:size=N); default SHOCKER_USERNS",
    )
    add(
        "--security-opt",
        action="append",
        default=[],
        metavar="OPT",
        help="seccomp=unconfined|PROFILE.json, no-new-privileges",
    )
    add("--network", "--net", default="bridge", help="bridge, none, host, container:ID")
    add("-p", "--publish", action="append", default=[], metavar="[IP:]HOST:CONTAINER[/proto]")
    add("-P", "--publish-all", action="store_true", help="publish the image's exposed ports")
    add("--ip", help="request this address on the bridge")
    add("--dns", action="append", default=[], metavar="ADDRESS")
    add("-l", "--label", action="append", default=[], metavar="KEY[=VALUE]")
    add("--stop-signal", help="signal that stops the container (SIGTERM; USR1 or SIGUSR1)")
    add("--stop-timeout", help="seconds `stop` waits before SIGKILL (default 10)")
    add("--init", action="store_true", help="run an init as pid 1 that reaps and forwards signals")
    add(
        "--restart",
        metavar="no|on-failure[:N]|always|unless-stopped",
        help="start it again when it exits (default no)",
    )
    add("--log-driver", metavar="json-file|none", help="how output is kept (default json-file)")
    add("--log-opt", action="append", default=[], metavar="max-size=10m|max-file=3")
    add("--platform", help="platform to pull if the image is missing (linux/arm64)")
    add("image", help="image id or name")
    add("command", nargs=REMAINDER, help="command and arguments")


def add_arguments(parser: FlagParser) -> None:
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print the container's recipe as plain Linux commands; run nothing",
    )
    add_container_arguments(parser)


def run(args: Namespace, settings: Settings) -> int:
    import sys

    from shocker.cli.context import open_store
    from shocker.cli.progress import PullProgress
    from shocker.engine.options import options_from_args
    from shocker.engine.run import run_container

    options = options_from_args(args)
    store = open_store(settings, "run")
    if args.explain:
        from shocker.engine.explain import explain

        sys.stdout.write(explain(store, settings, options))
        return 0
    with PullProgress(sys.stderr) as progress:
        container_id, code = run_container(store, settings, options, progress)
    if options.detach:
        print(container_id)
    return code
