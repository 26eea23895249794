"""shocker: a small, daemonless, Docker-style container engine on btrfs."""

__version__ = "0.1.0"
