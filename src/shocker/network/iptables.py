"""Run iptables-save and iptables-restore (the nf_tables variant the host's `iptables` is)."""

from __future__ import annotations

from shocker.errors import NetworkError
from shocker.linux.commands import run


def save() -> str:
    """The current ruleset of every table, as iptables-save(8) prints it."""
    return run(["iptables-save"], error=NetworkError, what="iptables-save").stdout


def restore(text: str) -> None:
    """Apply `text` atomically, keeping every other rule (--noflush); -w waits for the
    xtables lock instead of failing when another iptables runs."""
    if text:
        run(
            ["iptables-restore", "-w", "--noflush"],
            error=NetworkError,
            what="iptables-restore",
            input_text=text,
        )
