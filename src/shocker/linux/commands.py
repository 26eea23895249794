"""Run an external program from an argv list; its stderr becomes the error message."""

from __future__ import annotations

import subprocess

from shocker.errors import ShockerError


def run(
    argv: list[str],
    *,
    error: type[ShockerError] = ShockerError,
    what: str | None = None,
    input_text: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run `argv` (never through a shell) and capture its output as text.

    On a missing program or, with `check`, a non-zero exit, raise `error` whose message is
    `what` (default: the command line) followed by the program's last line of stderr.
    """
    label = what or " ".join(argv)
    try:
        done = subprocess.run(argv, input=input_text, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise error(f"{label}: {argv[0]} not found", hint=f"install {argv[0]}") from None
    if check and done.returncode != 0:
        lines = done.stderr.strip().splitlines() or done.stdout.strip().splitlines()
        reason = lines[-1] if lines else f"exit status {done.returncode}"
        raise error(f"{label}: {reason}")
    return done
