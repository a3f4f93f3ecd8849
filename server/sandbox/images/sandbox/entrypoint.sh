#!/bin/sh
# Entrypoint of a learner's sandbox node, run as the unprivileged user `learner`: starts a
# rootless Docker engine in new user, mount and network namespaces (what Debian's
# dockerd-rootless.sh does, plus the resolver below). Nothing here is the host's root: the
# node has no CAP_SYS_ADMIN, and root inside the namespace maps to `learner` outside.
set -eu

if [ "${1:-}" != "--child" ]; then
  rm -rf "$XDG_RUNTIME_DIR/rk" "$XDG_RUNTIME_DIR/docker.sock" "$XDG_RUNTIME_DIR/docker.pid" "$XDG_RUNTIME_DIR/docker"
  exec rootlesskit \
    --state-dir="$XDG_RUNTIME_DIR/rk" \
    --net=slirp4netns --mtu=65520 --slirp4netns-sandbox=auto --slirp4netns-seccomp=auto \
    --disable-host-loopback --port-driver=builtin \
    --copy-up=/etc --copy-up=/run --propagation=rslave \
    "$0" --child
fi

# In the child namespaces.
rm -f /run/docker /run/containerd /run/xtables.lock
# No route leads out of a sandbox, so a lookup of an outside name could only wait for a
# timeout (dockerd looks up docker.io before it tries the mirror). A resolver address where
# nothing listens makes every outside lookup fail at once; local names live in /etc/hosts.
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' > /etc/resolv.conf
exec dockerd
