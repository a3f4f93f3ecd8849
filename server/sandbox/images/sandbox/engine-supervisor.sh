#!/bin/sh
# Keeps the node's Docker engine running, in the rootless namespaces, as a host's init would.
#
# This process is the rootlesskit child: while it lives, the node's user, mount and network
# namespaces live, and with them the learner's shell, files and network. dockerd is only its
# child, so when the learner kills dockerd (or it dies) the node stays, and dockerd is started
# again after a short pause with the same data root: images and volumes are kept.
#
# /etc/init.d/docker (what `service docker ...` and the systemctl shim run) talks to it through
# files in $engine_dir (see engine-common.sh): it writes "up" or "down" to `want`, stops dockerd
# with SIGTERM, wakes this loop with SIGUSR1, and reads `state` to know how a start went.
set -u
. /usr/local/lib/slipway/engine-common.sh

mkdir -p "$engine_dir"
echo $$ >"$engine_dir/supervisor.pid"
echo up >"$engine_want"
touch "$engine_notices"

attempt=0
pid=
napper=
exiting=
trap 'kill "$napper" 2>/dev/null' USR1
# The node is stopping (rootlesskit passes SIGTERM on): let dockerd shut down cleanly.
trap 'exiting=1; kill "$napper" 2>/dev/null; [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null' TERM INT

say() {
  line="$(date '+%Y-%m-%dT%H:%M:%S') slipway-engine: $*"
  echo "$line" >&2
  echo "$line" >>"$engine_log"
}

# Shown on the learner's next prompt by /etc/slipway.bashrc, and in the node's log.
notice() {
  say "$*"
  printf '%s\n' "$*" >>"$engine_notices"
}

set_state() {
  printf '%s %s\n' "$attempt" "$*" >"$engine_state.new" && mv "$engine_state.new" "$engine_state"
}

# Sleeps, but SIGUSR1 (a start request) or SIGTERM ends the sleep at once.
nap() {
  sleep "$1" &
  napper=$!
  wait "$napper" 2>/dev/null
  kill "$napper" 2>/dev/null
  napper=
}

describe_exit() {
  if [ "$1" -gt 128 ]; then
    echo "killed by SIG$(kill -l "$(($1 - 128))" 2>/dev/null || echo "$(($1 - 128))")"
  else
    echo "exited with status $1"
  fi
}

# The last thing dockerd said before it gave up, with the file the learner edits named instead
# of the merged copy dockerd was given.
last_error() {
  tail -n 5 "$engine_log" | grep -v 'slipway-engine:' | grep -iE 'error|fail|unable|invalid|refus|conflict' | tail -n 1 |
    sed -e 's/^.*level=[a-z]* msg="\(.*\)"$/\1/' -e 's/\\"/"/g' -e "s#$effective_config#$learner_config#g"
}

# A start that fails again waits longer (1, 2, 4, 8, 15 s); one that reached "running" resets it.
backoff=1
crashed=
failing=
while [ -z "$exiting" ]; do
  if [ "$(cat "$engine_want" 2>/dev/null)" = down ]; then
    set_state stopped
    nap 60
    continue
  fi

  attempt=$((attempt + 1))
  set_state starting
  # Keep the log small: it lives on the node's disk, and dockerd may be restarted many times.
  # (Trimmed in place; /var/log/docker.log is a link to it.)
  if [ "$(stat -L -c %s "$engine_log" 2>/dev/null || echo 0)" -gt 1048576 ]; then
    tail -n 2000 "$engine_log" >"$engine_dir/log.tmp" && cat "$engine_dir/log.tmp" >"$engine_log" && rm -f "$engine_dir/log.tmp"
  fi
  if ! /usr/local/lib/slipway/engine-config >"$effective_config" 2>"$engine_dir/config-notes"; then
    why=$(grep -v '^note:' "$engine_dir/config-notes" | head -n 1)
    say "dockerd not started: $why"
    set_state failed "$why"
  else
    [ -s "$engine_dir/config-notes" ] && say "$(cat "$engine_dir/config-notes")"
    say "starting dockerd (attempt $attempt)"
    offset=$(($(wc -l <"$engine_log") + 1))
    # With a delegated cgroup, dockerd runs without rootless mode, which it refuses to do when
    # it sees RootlessKit's environment (engine-config.sh says why).
    if [ "$(cat "$run_dir/cgroup" 2>/dev/null)" = delegated ]; then
      env -u ROOTLESSKIT_STATE_DIR dockerd --config-file "$effective_config" >>"$engine_log" 2>&1 &
    else
      dockerd --config-file "$effective_config" >>"$engine_log" 2>&1 &
    fi
    pid=$!
    echo "$pid" >"$engine_dir/dockerd.pid"
    # The node's log (docker logs on the host) shows dockerd's output too.
    tail -n "+$offset" -F --pid="$pid" "$engine_log" 2>/dev/null | grep --line-buffered -v 'slipway-engine:' >&2 &

    while kill -0 "$pid" 2>/dev/null && ! engine_answers; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      set_state running
      backoff=1
      failing=
      if [ -n "$crashed" ]; then
        notice "Docker is running again. Images and volumes are kept; containers that were running have stopped (docker ps -a), those started with --restart come back by themselves."
        crashed=
      fi
    fi
    # `wait` returns early when a trapped signal arrives, so wait until dockerd is really gone.
    status=0
    while kill -0 "$pid" 2>/dev/null; do
      wait "$pid" 2>/dev/null # (dash reports "Killed" otherwise)
      status=$?
    done
    pid=
    rm -f "$engine_dir/dockerd.pid" "$run_dir/docker.pid"
    was=$(read_state)
    if [ -n "$exiting" ] || [ "$(cat "$engine_want" 2>/dev/null)" = down ]; then
      say "dockerd stopped ($(describe_exit "$status"))"
      continue
    fi
    if [ "${was#* }" = running ]; then
      crashed=1
      notice "Docker stopped unexpectedly (dockerd $(describe_exit "$status")); Slipway is starting it again."
      set_state failed "dockerd $(describe_exit "$status")"
      nap 1
      continue
    fi
    why=$(last_error)
    set_state failed "${why:-dockerd $(describe_exit "$status")}"
  fi

  # Could not start. Tell the learner once, then keep trying: fixing the file is enough.
  if [ -z "$failing" ]; then
    failing=1
    notice "Docker cannot start: $(read_state | cut -d' ' -f3-). Fix it, then run: service docker restart"
  fi
  nap "$backoff"
  backoff=$((backoff * 2))
  [ "$backoff" -le 15 ] || backoff=15
done
say "supervisor exiting"
