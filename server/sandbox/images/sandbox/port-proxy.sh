#!/bin/sh
# dockerd's userland proxy in a node whose cgroup is delegated (engine-config.sh). There dockerd
# runs without rootless mode, and so without RootlessKit's environment (dockerd refuses rootful
# mode when it sees ROOTLESSKIT_STATE_DIR); RootlessKit's proxy still needs it to publish an
# inner container's ports (-p) in the node's own network namespace, where node2 reaches them.
ROOTLESSKIT_STATE_DIR=/home/learner/.run/rk exec /usr/bin/rootlesskit-docker-proxy "$@"
