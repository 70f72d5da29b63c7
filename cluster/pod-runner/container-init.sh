#!/bin/sh
# Becomes a container. The pod runner starts it as PID 1 of a fresh PID namespace, in new mount and
# UTS namespaces, inside the pod's network namespace:
#   nsenter --net=<pod netns> unshare --mount --uts --pid --fork --kill-child --propagation private -- sh container-init.sh CMD ARGS...
# It builds the container's root filesystem (the host's / as the read-only lower layer of an
# overlay whose upper layer is a tmpfs: a per-container writable layer that vanishes with it), mounts
# the pod's volumes and /etc files into it, and then execs the container's command inside it, so
# the command stays PID 1. Tools are called by absolute path: PATH is the container's.
#
# Inputs (environment, removed before the command runs):
#   DEVLANE_PIDFILE   where to write this process's PID as the host sees it (for exec and stop),
#                     once everything is mounted
#   DEVLANE_ROOTFS    an empty host folder to mount the container's root on
#   DEVLANE_MOUNTS    file of "SOURCE<TAB>TARGET<TAB>rw|ro" lines (volumes, in mount order)
#   DEVLANE_ETC       folder with the pod's hosts, hostname and resolv.conf
#   DEVLANE_HOSTNAME  the pod's hostname
#   DEVLANE_WORKDIR   the container's working directory
set -eu

# Read through the host's /proc before a new one is mounted: /proc/self is the shell itself, and
# the host's procfs shows the host's PID for it.
read -r hostpid _ < /proc/self/stat

r=$DEVLANE_ROOTFS
/usr/bin/mount -t tmpfs -o mode=0755 devlane-container "$r"
/usr/bin/mkdir "$r/upper" "$r/work" "$r/root"
/usr/bin/mount -t overlay overlay -o "lowerdir=/,upperdir=$r/upper,workdir=$r/work" "$r/root"
root=$r/root
/usr/bin/mount -t proc proc "$root/proc"
/usr/bin/mount --rbind /dev "$root/dev"
/usr/bin/mount --rbind /sys "$root/sys"
/usr/bin/mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
/usr/bin/mount -t tmpfs -o mode=0755 tmpfs "$root/run"
for f in hosts hostname resolv.conf; do
  /usr/bin/rm -f "$root/etc/$f"
  /usr/bin/cp "$DEVLANE_ETC/$f" "$root/etc/$f"
done

tab=$(printf '\t')
while IFS="$tab" read -r src dst mode; do
  [ -n "$src" ] || continue
  if [ -d "$src" ]; then
    /usr/bin/mkdir -p "$root$dst"
  else
    /usr/bin/mkdir -p "$(/usr/bin/dirname "$root$dst")"
    [ -e "$root$dst" ] || : > "$root$dst"
  fi
  /usr/bin/mount --bind "$src" "$root$dst"
  if [ "$mode" = ro ]; then /usr/bin/mount -o remount,bind,ro "$root$dst"; fi
done < "$DEVLANE_MOUNTS"

/usr/bin/hostname "$DEVLANE_HOSTNAME"
wd=$DEVLANE_WORKDIR
/usr/bin/mkdir -p "$root$wd"
# Last: the PID file tells the runner the container has started (as the exec below keeps the PID).
echo "$hostpid" > "$DEVLANE_PIDFILE.tmp"
/usr/bin/mv -f "$DEVLANE_PIDFILE.tmp" "$DEVLANE_PIDFILE"
exec /usr/sbin/chroot "$root" /usr/bin/env -u DEVLANE_PIDFILE -u DEVLANE_ROOTFS -u DEVLANE_MOUNTS -u DEVLANE_ETC -u DEVLANE_HOSTNAME -u DEVLANE_WORKDIR --chdir="$wd" "$@"
