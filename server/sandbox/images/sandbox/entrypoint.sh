#!/bin/sh
# Entrypoint of a learner's sandbox node: make cgroups usable by a nested dockerd without
# --privileged, make outside name lookups fail at once, then run dockerd as PID 1's child.
set -eu

log() { echo "slipway-entrypoint: $*" >&2; }

# The container runs in a private cgroup namespace, where /sys/fs/cgroup is read-only.
# Remounting in place fails ("mount point is busy"); a fresh mount of the same hierarchy
# works and shows only this container's own subtree.
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  # cgroup v2 (unified): remount read-write, then move ourselves into a leaf so that the
  # root can delegate controllers to dockerd's children (the steps of moby's hack/dind).
  umount /sys/fs/cgroup 2>/dev/null || true
  mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup 2>/dev/null || mount -t cgroup2 cgroup2 /sys/fs/cgroup
  mkdir -p /sys/fs/cgroup/init
  xargs -rn1 < /sys/fs/cgroup/cgroup.procs > /sys/fs/cgroup/init/cgroup.procs 2>/dev/null || true
  sed -e 's/ / +/g' -e 's/^/+/' < /sys/fs/cgroup/cgroup.controllers > /sys/fs/cgroup/cgroup.subtree_control || true
else
  # cgroup v1: one mount per controller under a tmpfs.
  mount -o remount,rw /sys/fs/cgroup 2>/dev/null || true
  for dir in /sys/fs/cgroup/*; do
    [ -d "$dir" ] || continue
    [ -L "$dir" ] && continue
    name=$(basename "$dir")
    opts=$(awk -v m="$dir" '$5 == m { print $NF }' /proc/self/mountinfo | tail -n 1)
    fstype=$(awk -v m="$dir" '$5 == m { for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 1); exit } }' /proc/self/mountinfo)
    [ -n "$fstype" ] || continue
    umount "$dir" || { log "cannot unmount $dir"; continue; }
    case "$fstype" in
      cgroup2) mount -t cgroup2 cgroup2 "$dir" ;;
      *) case "$name" in
           systemd) mount -t cgroup -o none,name=systemd cgroup "$dir" ;;
           *) mount -t cgroup -o "$(echo "$opts" | tr ',' '\n' | grep -vE '^(rw|ro)$' | paste -sd, -)" cgroup "$dir" \
                || mount -t cgroup -o "$name" cgroup "$dir" ;;
         esac ;;
    esac
  done
fi

# No route leads out of a sandbox, so a lookup of an outside name could only wait for a
# timeout (dockerd looks up docker.io before it tries the mirror). A resolver address where
# nothing listens makes every outside lookup fail at once; local names live in /etc/hosts.
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' > /etc/resolv.conf
# The session network is internal: its gateway leads nowhere but to a DROP. Without a
# default route, a connection to an outside address fails at once instead of hanging.
ip route del default 2>/dev/null || true

rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid
exec dockerd --host unix:///var/run/docker.sock "$@"
