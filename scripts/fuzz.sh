#!/usr/bin/env bash
# A longer fuzz pass than the suite's: the parsers of untrusted bytes (tar reader, layer
# applier, references, manifests, image configs, seccomp profiles) with N examples per test
# (default 5000; the suite runs 80, the same ones every time). As root, like the suite.
# Usage: bash scripts/fuzz.sh [N] [pytest arguments]
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$(bash "$REPO/scripts/install.sh" | tail -n 1)"
cd "$REPO"
export SHOCKER_FUZZ_EXAMPLES="${1:-5000}"
shift || true
# Each test's budget grows with N: no per-test timeout.
exec "$BIN/python" -m pytest -p no:cacheprovider -o addopts="" -q tests/unit/fuzz "$@"
