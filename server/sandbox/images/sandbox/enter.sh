#!/bin/sh
# Runs a command inside the node's rootless namespaces (user, mount, network), where the
# learner is root of the namespace and the Docker engine lives. Every shell and check enters
# through here, as the user `learner`.
set -eu
child_pid_file="$XDG_RUNTIME_DIR/rk/child_pid"
[ -s "$child_pid_file" ] || { echo "slipway-enter: the node's engine has not started yet" >&2; exit 125; }
# --wd keeps the working directory (entering a mount namespace would otherwise reset it to /).
exec nsenter -U -m -n --preserve-credentials --wd="$PWD" -t "$(cat "$child_pid_file")" "$@"
