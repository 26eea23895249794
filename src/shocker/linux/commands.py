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
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `argv` (never through a shell) and capture its output as text.

    On a missing program or, with `check`, a non-zero exit, raise `error` whose message is
    `what` (default: the command line) followed by the program's last line of stderr; a
    missing program's message names the package that provides it.
    """
    label = what or " ".join(argv)
    try:
        done = subprocess.run(
            argv, input=input_text, capture_output=True, text=True, check=False, env=env
        )
    except FileNotFoundError:
        from shocker.linux.packages import not_found

        message = not_found(argv[0])
        raise error(message if label == argv[0] else f"{label}: {message}") from None
    if check and done.returncode != 0:
        lines = done.stderr.strip().splitlines() or done.stdout.strip().splitlines()
        reason = lines[-1] if lines else f"exit status {done.returncode}"
        raise error(f"{label}: {reason}")
    return done
