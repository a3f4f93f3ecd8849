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
  rm -rf "$XDG_RUNTIME_DIR/rk" "$XDG_RUNTIME_DIR/docker.sock" "$XDG_RUNTIME_DIR/docker.pid" "$XDG_RUNTIME_DIR/docker" "$XDG_RUNTIME_DIR/engine"
  exec rootlesskit \
    --state-dir="$XDG_RUNTIME_DIR/rk" \
    --net=slirp4netns --mtu=65520 --slirp4netns-sandbox=auto --slirp4netns-seccomp=auto \
    --disable-host-loopback --port-driver=builtin \
    --copy-up=/etc --copy-up=/run --propagation=rslave \
    "$0" --child
fi

# In the child namespaces. This process must outlive dockerd: when it ends, the namespaces
# and everything in them (the learner's shell, containers, network) end with it.
rm -f /run/docker /run/containerd /run/xtables.lock
# rootlesskit's copy-up makes /etc a tmpfs of links to the read-only originals; the learner
# edits /etc/docker/daemon.json, so that directory becomes a real, writable copy.
original=$(readlink -f /etc/docker)
rm -f /etc/docker
cp -R "$original" /etc/docker
# Every lookup goes to the node's own name server (resolver.sh says what it answers and why).
printf 'nameserver 10.0.2.100\noptions timeout:1 attempts:1\n' >/etc/resolv.conf
/usr/local/lib/slipway/resolver &
exec /usr/local/lib/slipway/engine-supervisor
