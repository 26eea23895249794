#!/usr/bin/env bash
# Install what shocker and its tests need on Debian 12, then shocker itself into a venv.
# Idempotent. Usage (as root): bash scripts/install.sh   (prints the venv's bin directory last)
# SHOCKER_VENV chooses the venv (default: .venv in this checkout); SHOCKER_PYTHON the interpreter.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SHOCKER_VENV:-$REPO/.venv}"
APT_PACKAGES=(
  btrfs-progs iptables iproute2 procps kmod util-linux mount
  docker-registry busybox-static skopeo zstd apache2-utils openssl
  podman buildah umoci containerd runc crun libseccomp2 tini
  golang-docker-credential-helpers pass gnupg libarchive-tools
  python3 python3-venv ca-certificates
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root: bash scripts/install.sh" >&2
  exit 1
fi

missing=()
for package in "${APT_PACKAGES[@]}" ${SHOCKER_EXTRA_APT:-}; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "+ apt-get install ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python="${SHOCKER_PYTHON:-}"
if [ -z "$python" ]; then
  for candidate in python3.11 python3.12 python3.13 python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      python="$candidate"
      break
    fi
  done
fi
if [ -z "$python" ]; then
  echo "install.sh: no Python >= 3.11 with the venv module found" >&2
  exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "+ $python -m venv $VENV" >&2
  "$python" -m venv "$VENV"
fi
# A regular (not editable) install: the suite tests the package as users get it.
# pip's output is kept in a log and shown only when it fails.
log="$(mktemp /tmp/shocker-install.XXXXXX)"
trap 'rm -f "$log"' EXIT
pip=("$VENV/bin/python" -m pip install --disable-pip-version-check)
if ! { "${pip[@]}" "$REPO[test,dev]" && "${pip[@]}" --no-deps --force-reinstall "$REPO"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install.sh: pip install failed" >&2
  exit 1
fi
echo "+ shocker installed in $VENV" >&2
echo "$VENV/bin"
