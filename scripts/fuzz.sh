#!/usr/bin/env bash
# A longer fuzz pass than the suite's: the parsers of untrusted bytes (tar reader, layer
# applier, references, manifests, image configs, seccomp profiles) with N examples per test
# (default 5000; the suite runs 80, the same ones every time), then a coverage-guided pass of
# the tar reader and applier with atheris for SHOCKER_FUZZ_SECONDS (default 60), seeded with
# the real-world tar corpus, when the `fuzz` extra installs. As root, like the suite.
# Usage: bash scripts/fuzz.sh [N] [pytest arguments]
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$(bash "$REPO/scripts/install.sh" | tail -n 1)"
cd "$REPO"
export SHOCKER_FUZZ_EXAMPLES="${1:-5000}"
shift || true
# Each test's budget grows with N: no per-test timeout.
"$BIN/python" -m pytest -p no:cacheprovider -o addopts="" -q tests/unit/fuzz "$@"

if ! "$BIN/python" -m pip install -q --disable-pip-version-check "$REPO[fuzz]" >/dev/null 2>&1; then
  echo "fuzz.sh: atheris (the fuzz extra) does not install here: coverage-guided pass skipped" >&2
  exit 0
fi
scratch="$(mktemp -d /tmp/shocker-fuzz.XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
echo "+ atheris: tar reader and layer applier for ${SHOCKER_FUZZ_SECONDS:-60} s" >&2
SHOCKER_FUZZ_SCRATCH="$scratch" "$BIN/python" -m tests.unit.fuzz.atheris_layers \
  -max_total_time="${SHOCKER_FUZZ_SECONDS:-60}" -print_final_stats=1
