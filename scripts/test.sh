#!/usr/bin/env bash
# Install everything, then run the whole suite as root: lint and types, unit tests, and
# integration tests (loop btrfs, a local docker-registry, real namespaces).
# Usage (as root): bash scripts/test.sh [pytest arguments]
# SHOCKER_SKIP_LINT=1 skips ruff/mypy/import-linter.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$(bash "$REPO/scripts/install.sh" | tail -n 1)"
cd "$REPO"

if [ "${SHOCKER_SKIP_LINT:-0}" != "1" ]; then
  echo "+ ruff check, ruff format --check, mypy, lint-imports"
  "$BIN/ruff" check src tests bench
  "$BIN/ruff" format --check src tests bench
  "$BIN/mypy"
  "$BIN/lint-imports"
fi

# A missing prerequisite fails the run instead of skipping tests.
export SHOCKER_TEST_STRICT=1
status=0
"$BIN/python" -m pytest -p no:cacheprovider "${@:-tests}" || status=$?
if [ "$status" -eq 5 ]; then
  echo "test.sh: pytest collected no tests" >&2
fi
exit "$status"
