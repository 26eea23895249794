"""Coverage-guided fuzzing of the tar reader and the layer applier with atheris (libFuzzer),
seeded with the real-world corpus (corpus.py). The invariants are the suite's: the reader
yields members or raises one StorageError line, and the applier never writes outside its
root. Not a pytest module: scripts/fuzz.sh runs it when the `fuzz` extra is installed.

Usage: python -m tests.unit.fuzz.atheris_layers [libFuzzer options, e.g. -max_total_time=60]
Its scratch files go under SHOCKER_FUZZ_SCRATCH (libFuzzer ends the process itself, so the
caller removes them), else a new directory under /tmp.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> None:
    # Imported by name: the extra is optional, and mypy need not know it.
    atheris: Any = importlib.import_module("atheris")
    with atheris.instrument_imports():
        import shocker.store.tarstream
        import shocker.store.unpack  # noqa: F401
    from tests.unit.fuzz.corpus import build_corpus
    from tests.unit.fuzz.test_corpus import read_or_one_error
    from tests.unit.fuzz.test_layers import check_contained, world

    scratch = Path(os.environ.get("SHOCKER_FUZZ_SCRATCH") or tempfile.mkdtemp(prefix="fuzz-"))
    seeds = scratch / "seeds"
    seeds.mkdir()
    for number, archive in enumerate(build_corpus(scratch / "corpus")):
        (seeds / f"{number:02d}.tar").write_bytes(archive.raw)
    cases = scratch / "cases"
    cases.mkdir()
    staged = False

    def one_input(data: bytes) -> None:
        nonlocal staged
        read_or_one_error(data)
        work, outside, root = world(cases)
        staged = not staged
        try:
            check_contained(data, cases, outside, root, staged)
        finally:
            shutil.rmtree(work)

    atheris.Setup([argv[0], *argv[1:], str(seeds)], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
