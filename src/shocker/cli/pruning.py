"""What the prune commands share: Docker's `[y/N]` question and its report
(`Deleted Containers:` and the like, then `Total reclaimed space: 1.234MB`)."""

from __future__ import annotations

import sys

from shocker.static import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from shocker.engine.prune import Pruned


def confirm(warning: str) -> bool:
    """Ask on the terminal, as Docker does without -f; anything but y/yes is a no."""
    sys.stdout.write(f"{warning}\nAre you sure you want to continue? [y/N] ")
    sys.stdout.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def cancelled() -> int:
    """The answer was no: say so on stderr; the exit status."""
    print("prune cancelled: nothing was removed", file=sys.stderr)
    return 1


def report(sections: Sequence[tuple[str, Pruned]]) -> None:
    """Each non-empty section with its title, then the total reclaimed."""
    from shocker.cli.output import human_size

    out: list[str] = []
    for title, pruned in sections:
        if pruned.deleted:
            out += [f"{title}:", *pruned.deleted, ""]
    total = sum(pruned.reclaimed for _, pruned in sections)
    out.append(f"Total reclaimed space: {human_size(total, precision=4)}")
    sys.stdout.write("\n".join(out) + "\n")
