#!/usr/bin/env bash
# shocker end to end on this machine, with no internet: install, provision btrfs storage in a
# temporary loop file, start a local registry holding a busybox image built from
# busybox-static, pull it, list it, run it; then remove everything it created.
# Usage (as root): bash scripts/demo.sh
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$(bash "$REPO/scripts/install.sh" | tail -n 1)"
WORK="$(mktemp -d /tmp/shocker-demo.XXXXXX)"
TAG="$(printf '%04x' $((RANDOM)))"

# Everything the demo touches is its own: storage, bridge, subnet, cgroups, iptables chains.
export SHOCKER_ROOT="$WORK/root"
export SHOCKER_BRIDGE="shkdemo$TAG"
export SHOCKER_SUBNET="10.213.$((RANDOM % 200 + 20)).1/24"
export SHOCKER_CGROUP_PARENT="shocker-demo-$TAG"
export SHOCKER_CHAIN_PREFIX="SHKDEMO$TAG"
export PATH="$BIN:$PATH:/usr/sbin:/sbin"
REGISTRY_PID=""

cleanup() {
  set +e
  echo "== cleaning up"
  if [ -d "$SHOCKER_ROOT/.shocker" ]; then
    shocker network prune >/dev/null 2>&1
  fi
  [ -n "$REGISTRY_PID" ] && kill "$REGISTRY_PID" 2>/dev/null
  if mountpoint -q "$SHOCKER_ROOT"; then
    umount "$SHOCKER_ROOT" || umount -l "$SHOCKER_ROOT"
  fi
  for device in $(losetup -j "$WORK/shocker.img" | cut -d: -f1); do
    losetup -d "$device"
  done
  for cgroup in /sys/fs/cgroup/*/"$SHOCKER_CGROUP_PARENT" /sys/fs/cgroup/"$SHOCKER_CGROUP_PARENT"; do
    [ -d "$cgroup" ] && rmdir "$cgroup"
  done
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

step() { echo; echo "== $*"; }

step "shocker setup: btrfs in a sparse file, loop-mounted at $SHOCKER_ROOT"
shocker setup --image-file "$WORK/shocker.img" --size 2G

step "a local registry with busybox (built from /bin/busybox, pushed over the HTTP API)"
read -r SHOCKER_REGISTRY REGISTRY_PID < <(cd "$REPO" && "$BIN/python" -m tests.support.serve_registry "$WORK/registry")
[ -n "${SHOCKER_REGISTRY:-}" ] || { echo "demo.sh: the local registry did not start" >&2; exit 1; }
export SHOCKER_REGISTRY
echo "SHOCKER_REGISTRY=$SHOCKER_REGISTRY"

step "shocker pull busybox"
shocker pull busybox

step "shocker images"
shocker images

step "shocker run --rm busybox cat /etc/issue"
shocker run --rm busybox cat /etc/issue

step "shocker ps"
shocker ps
