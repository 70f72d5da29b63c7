#!/usr/bin/env bash
# Runs a command as on a machine where Devlane never ran, without touching this machine's state:
# in namespaces of its own (mounts, network, PIDs). Inside, /run and /tmp are empty (so no
# /run/netns, no cluster state, no shared mount an earlier run made), the test cluster's kwokctl
# folder is empty, the network is loopback and an uplink that leads nowhere, and the root mount
# is private, as on a new machine. Cached binaries (~/.cache/devlane-tools) stay shared.
# When the command ends, or this script is killed, every process it started ends with it (the PID
# namespace dies) and its network namespaces and mounts go with the mount namespace.
#
# Options (before the command):
#   --host-network  keep this machine's network (the package registries stay reachable; the
#                   cluster's loopback ports are then this machine's: no other test cluster may run)
#   --cold          start with empty caches too: ~/.cache (Devlane's tools and cluster binaries,
#                   code-server), ~/.m2, ~/.npm and Go's module and build caches, as on a new machine
#                   (everything is downloaded and built again, into scratch space removed afterwards)
# Needs root (unshare). Usage: scripts/isolated.sh [--host-network] [--cold] COMMAND [ARGS...]
set -euo pipefail
net=--net
cold=0
while [ $# -gt 0 ]; do
  case $1 in
    --host-network) net=; shift ;;
    --cold) cold=1; shift ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--host-network] [--cold] COMMAND [ARGS...]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "$0 needs root (it makes mount, network and PID namespaces)" >&2; exit 1; }
tools=${DEVLANE_TOOLS:-$HOME/.cache/devlane-tools}
mkdir -p "$tools/kwok"
scratch=$(mktemp -d /var/tmp/devlane-isolated-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/kwok" "$scratch/tmp"
chmod 1777 "$scratch/tmp"
# Folders that hold what a run downloads or builds once; --cold hides each behind an empty one.
caches=()
if [ $cold = 1 ]; then
  gopath=$(go env GOPATH 2>/dev/null || echo "$HOME/go")
  gocache=$(go env GOCACHE 2>/dev/null || echo "$HOME/.cache/go-build")
  for d in "$HOME/.cache" "$HOME/.m2" "$HOME/.npm" "$gopath" "$gocache"; do
    mkdir -p "$d"
    caches+=("$d")
  done
fi
# PID 1 inside is a shell that waits for the command, so orphaned processes are reaped (a zombie
# would look alive to the cluster's clean-up).
unshare --mount $net --pid --fork --kill-child --mount-proc --propagation private -- /bin/bash -c '
  set -e
  scratch=$1 tools=$2 ownnet=$3 ncaches=$4; shift 4
  i=0
  while [ $i -lt $ncaches ]; do
    mkdir -p "$scratch/cache$i" "$1"
    mount --bind "$scratch/cache$i" "$1"
    shift; i=$((i + 1))
  done
  # What this machine mounted under /run (network namespaces of earlier runs) is not inherited.
  umount --recursive --lazy /run/netns 2>/dev/null || true
  mount -t tmpfs -o mode=0755 devlane-run /run
  mount --bind "$scratch/tmp" /tmp
  mkdir -p "$tools/kwok"
  mount --bind "$scratch/kwok" "$tools/kwok"
  if [ -n "$ownnet" ]; then
    ip link set lo up
    # A machine has an interface with an address and a default route (kube-apiserver picks its
    # advertise address from them): one end of a veth pair on a documentation network, leading nowhere.
    ip link add devlane-uplink type veth peer name devlane-nowhere
    ip addr add 192.0.2.10/24 dev devlane-uplink
    ip link set devlane-nowhere up
    ip link set devlane-uplink up
    ip route add default via 192.0.2.1 dev devlane-uplink
  fi
  "$@" &
  child=$!
  trap "kill -TERM $child 2>/dev/null" TERM INT
  set +e
  wait $child; rc=$?
  # A trapped signal interrupts wait: wait for the command itself to end.
  while kill -0 $child 2>/dev/null; do wait $child; rc=$?; done
  exit $rc' devlane-isolated "$scratch" "$tools" "$net" "${#caches[@]}" "${caches[@]}" "$@"
