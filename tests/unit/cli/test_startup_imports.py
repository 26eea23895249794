"""`shocker ps` and `shocker run` pay for every import: heavy libraries load only when used."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("httpx", "pyroute2", "rich", "zstandard", "tarfile", "dockerfile")


def imported_modules(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_cli_entry_point_imports_nothing_heavy() -> None:
    modules = imported_modules("import shocker.cli.main")
    assert not [m for m in HEAVY if m in modules]


def test_ps_command_module_imports_nothing_heavy() -> None:
    modules = imported_modules(
        "import shocker.cli.commands.ps, shocker.cli.status, shocker.store.store"
    )
    assert not [m for m in HEAVY if m in modules]


def test_run_path_and_build_help_leave_the_dockerfile_parser_unloaded() -> None:
    modules = imported_modules(
        "import shocker.cli.commands.run, shocker.engine.run, shocker.engine.launch\n"
        "from shocker.cli.main import make_parser\nmake_parser('build')"
    )
    assert "dockerfile" not in modules
