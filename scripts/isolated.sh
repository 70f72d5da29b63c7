#!/usr/bin/env bash
# Runs a command as on a machine where Devlane never ran, without touching this machine's state:
# in namespaces of its own (mounts, network, PIDs). Inside, /run and /tmp are empty (so no
# /run/netns, no cluster state, no shared mount an earlier run made), the test cluster's kwokctl
# folder is empty, the network is loopback and an uplink that leads nowhere, and the root mount
# is private, as on a new machine. Cached binaries (~/.cache/devlane-tools) stay shared and are only read.
# When the command ends, or this script is killed, every process it started ends with it (the PID
# namespace dies) and its network namespaces and mounts go with the mount namespace.
# Needs root (unshare). Usage: scripts/isolated.sh COMMAND [ARGS...]
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "$0 needs root (it makes mount, network and PID namespaces)" >&2; exit 1; }
tools=${DEVLANE_TOOLS:-$HOME/.cache/devlane-tools}
mkdir -p "$tools/kwok"
scratch=$(mktemp -d /var/tmp/devlane-isolated-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/kwok" "$scratch/tmp"
chmod 1777 "$scratch/tmp"
# PID 1 inside is a shell that waits for the command, so orphaned processes are reaped (a zombie
# would look alive to the cluster's clean-up).
unshare --mount --net --pid --fork --kill-child --mount-proc --propagation private -- /bin/bash -c '
  set -e
  scratch=$1 tools=$2; shift 2
  # What this machine mounted under /run (network namespaces of earlier runs) is not inherited.
  umount --recursive --lazy /run/netns 2>/dev/null || true
  mount -t tmpfs -o mode=0755 devlane-run /run
  mount --bind "$scratch/tmp" /tmp
  mount --bind "$scratch/kwok" "$tools/kwok"
  ip link set lo up
  # A machine has an interface with an address and a default route (kube-apiserver picks its
  # advertise address from them): one end of a veth pair on a documentation network, leading nowhere.
  ip link add devlane-uplink type veth peer name devlane-nowhere
  ip addr add 192.0.2.10/24 dev devlane-uplink
  ip link set devlane-nowhere up
  ip link set devlane-uplink up
  ip route add default via 192.0.2.1 dev devlane-uplink
  "$@" &
  child=$!
  trap "kill -TERM $child 2>/dev/null" TERM INT
  set +e
  wait $child; rc=$?
  # A trapped signal interrupts wait: wait for the command itself to end.
  while kill -0 $child 2>/dev/null; do wait $child; rc=$?; done
  exit $rc' devlane-isolated "$scratch" "$tools" "$@"
