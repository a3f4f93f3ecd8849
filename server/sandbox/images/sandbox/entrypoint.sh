#!/bin/sh
# Entrypoint of a learner's sandbox node, run as the unprivileged user `learner`: starts a
# rootless Docker engine in new user, mount and network namespaces (what Debian's
# dockerd-rootless.sh does, plus a name server and a supervisor). Nothing here is the host's
# root: the node has no CAP_SYS_ADMIN, and root inside the namespace maps to `learner` outside.
set -eu

if [ "${1:-}" != "--child" ]; then
  # The home folder is the node's own disk, empty on the first start: what Docker's rootless
  # engine and the learner's tools expect in it.
  mkdir -p -m 0700 "$XDG_RUNTIME_DIR"
  mkdir -p "$HOME/.local/share/docker" "$HOME/.config"
  ln -sfn /etc/docker "$HOME/.config/docker"
  : >>"$XDG_RUNTIME_DIR/docker.log"
  rm -rf "$XDG_RUNTIME_DIR/rk" "$XDG_RUNTIME_DIR/docker.sock" "$XDG_RUNTIME_DIR/docker.pid" "$XDG_RUNTIME_DIR/docker" "$XDG_RUNTIME_DIR/engine" "$XDG_RUNTIME_DIR/cgroup"
  # On a cgroup v2 engine the server gives this node's uid its cgroup (server/sandbox/docker/
  # cgroups.ts) just after the start: wait for that (a helper container: a second or two, more
  # on a loaded machine; the server creates /tmp/slipway-cgroup-refused if it failed; 60 s at
  # most), then the child gets a cgroup namespace of its own. Otherwise (cgroup v1) nothing
  # changes.
  cgroupns=
  if [ "${SLIPWAY_CGROUP:-}" = delegate ] && [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    waited=0
    while [ "$(stat -c %u /sys/fs/cgroup/cgroup.procs)" != "$(id -u)" ] && [ ! -e /tmp/slipway-cgroup-refused ] && [ "$waited" -lt 600 ]; do
      sleep 0.1
      waited=$((waited + 1))
    done
    if [ "$(stat -c %u /sys/fs/cgroup/cgroup.procs)" = "$(id -u)" ]; then
      cgroupns=--cgroupns
    else
      echo "slipway-entrypoint: this node's cgroup was not delegated; docker run --memory and --cpus inside it will not be enforced" >&2
    fi
  fi
  export SLIPWAY_CGROUPNS="$cgroupns"
  exec rootlesskit \
    --state-dir="$XDG_RUNTIME_DIR/rk" \
    --net=slirp4netns --mtu=65520 --slirp4netns-sandbox=auto --slirp4netns-seccomp=auto \
    --disable-host-loopback --port-driver=builtin \
    --copy-up=/etc --copy-up=/run --propagation=rslave $cgroupns \
    "$0" --child
fi

# In the child namespaces. This process must outlive dockerd: when it ends, the namespaces
# and everything in them (the learner's shell, containers, network) end with it.
rm -f /run/docker /run/containerd /run/xtables.lock

# A delegated cgroup (cgroup v2): mount it as this namespace's cgroup2 (the container's own
# mount is read-only), move every process of the node into a leaf, `init` (cgroup v2 allows
# controllers below a cgroup only when it holds no process; runc puts `docker exec`s beside
# the container's first process, so they land there too), and enable the controllers for the
# inner engine's cgroups. engine-config then has dockerd manage them (cgroupfs driver).
if [ -n "${SLIPWAY_CGROUPNS:-}" ]; then
  # (The kernel refuses cgroup2 straight over the container's cgroup2 mount, the same
  # filesystem on the same mount point, so a tmpfs goes between them.)
  if mount -t tmpfs -o mode=0755 none /sys/fs/cgroup \
    && mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup \
    && mkdir -p /sys/fs/cgroup/init \
    && { for pid in $(cat /sys/fs/cgroup/cgroup.procs); do echo "$pid" >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null || true; done; } \
    && sed -e 's/^/+/' -e 's/ / +/g' /sys/fs/cgroup/cgroup.controllers >/sys/fs/cgroup/cgroup.subtree_control; then
    echo delegated >"$XDG_RUNTIME_DIR/cgroup"
  else
    echo "slipway-entrypoint: the delegated cgroup could not be set up; docker run --memory and --cpus inside this node will not be enforced" >&2
  fi
fi
# rootlesskit's copy-up makes /etc a tmpfs of links to the read-only originals; the learner
# edits /etc/docker/daemon.json, so that directory becomes a real, writable copy.
original=$(readlink -f /etc/docker)
rm -f /etc/docker
cp -R "$original" /etc/docker
# Every lookup goes to the node's own name server (resolver.sh says what it answers and why).
printf 'nameserver 10.0.2.100\noptions timeout:1 attempts:1\n' >/etc/resolv.conf
/usr/local/lib/slipway/resolver &
exec /usr/local/lib/slipway/engine-supervisor
