"""The command table: name -> module and one-line summary, in help order.

Modules are imported only when their command runs, so `shocker ps` never pays for the
registry client or the network library.
"""

from __future__ import annotations


class CommandEntry:
    """A command's module (under shocker.cli.commands) and its one-line summary.

    A plain class rather than a NamedTuple: typing costs ~3 ms on every start.
    """

    __slots__ = ("module", "summary")

    def __init__(self, module: str, summary: str) -> None:
        self.module = module
        self.summary = summary


COMMANDS: dict[str, CommandEntry] = {
    "pull": CommandEntry("pull", "Pull an image from a registry"),
    "push": CommandEntry("push", "Push an image to a registry"),
    "login": CommandEntry("login", "Check and keep credentials for a registry"),
    "logout": CommandEntry("login", "Forget the credentials kept for a registry"),
    "images": CommandEntry("images", "List images"),
    "rmi": CommandEntry("rmi", "Remove images, or names of images"),
    "tag": CommandEntry("tag", "Give an image another name"),
    "history": CommandEntry("history", "Show the steps that made an image"),
    "init": CommandEntry("init", "Create an image from a directory"),
    "inspect": CommandEntry("inspect", "Show an image or a container as JSON"),
    "run": CommandEntry("run", "Run a command in a new container"),
    "ps": CommandEntry("ps", "List containers"),
    "logs": CommandEntry("logs", "Show what a container printed"),
    "exec": CommandEntry("exec", "Run a command in a running container"),
    "stop": CommandEntry("lifecycle", "Stop running containers"),
    "start": CommandEntry("lifecycle", "Start stopped containers"),
    "restart": CommandEntry("lifecycle", "Stop and start containers again"),
    "pause": CommandEntry("lifecycle", "Freeze every process of containers"),
    "unpause": CommandEntry("lifecycle", "Let paused containers run again"),
    "kill": CommandEntry("lifecycle", "Send a signal to running containers"),
    "wait": CommandEntry("lifecycle", "Wait for containers to exit and print their exit codes"),
    "rename": CommandEntry("rename", "Give a container a new name"),
    "top": CommandEntry("top", "Show a container's processes"),
    "stats": CommandEntry("stats", "Show containers' CPU, memory, network and I/O use"),
    "cp": CommandEntry("cp", "Copy files between a container and the host"),
    "diff": CommandEntry("diff", "Show the files a container changed in its image"),
    "commit": CommandEntry("commit", "Create or replace an image from a container"),
    "save": CommandEntry("save", "Write images to a tar archive (docker-archive or OCI)"),
    "load": CommandEntry("load", "Load images from a tar archive"),
    "export": CommandEntry("export", "Write a container's filesystem to a tar archive"),
    "import": CommandEntry("import_tar", "Create an image from a filesystem tar archive"),
    "build": CommandEntry("build", "Build an image from a Dockerfile"),
    "rm": CommandEntry("rm", "Remove containers (or images, as the original did)"),
    "volume": CommandEntry("volume", "Manage volumes"),
    "image": CommandEntry("image", "Remove unused images (prune)"),
    "container": CommandEntry("container", "Remove stopped containers (prune)"),
    "system": CommandEntry("system", "Show disk usage (df) and remove unused data (prune)"),
    "network": CommandEntry("network", "Inspect and clean up shocker's network"),
    "port": CommandEntry("port", "List a container's published ports"),
    "setup": CommandEntry("setup", "Provision btrfs storage at SHOCKER_ROOT"),
    "help": CommandEntry("help", "Show help for every command"),
}

# Internal commands, not listed in help: called by shocker's own processes.
HIDDEN: dict[str, CommandEntry] = {
    "_finish": CommandEntry("finish", "Record a detached container's exit and release it"),
}
