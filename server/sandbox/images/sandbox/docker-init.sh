#!/bin/sh
### BEGIN INIT INFO
# Provides:          docker
# Required-Start:    $remote_fs
# Required-Stop:     $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: Docker engine of this Slipway sandbox node
### END INIT INFO
# /etc/init.d/docker in a Slipway node, run by `service docker <action>` and by the systemctl
# shim. The engine is rootless and kept alive by a supervisor (engine-supervisor.sh); this
# script asks it to stop or start dockerd and waits for the outcome, so the learner sees what
# a Debian host would show, and a clear reason when dockerd cannot start.
set -u
. /usr/local/lib/slipway/engine-common.sh

if [ ! -s "$engine_dir/supervisor.pid" ]; then
  echo "docker: this node's engine supervisor is not running; reload the page to get a fresh node." >&2
  exit 1
fi
supervisor=$(cat "$engine_dir/supervisor.pid")

attempt_of() { echo "${1%% *}"; }
phase_of() { echo "$1" | cut -d' ' -f2; }
detail_of() { echo "$1" | cut -s -d' ' -f3-; }

show_notes() {
  grep '^note:' "$engine_dir/config-notes" 2>/dev/null | sed 's/^/  /'
}

do_stop() {
  printf 'Stopping Docker: '
  echo down >"$engine_want"
  pid=$(dockerd_pid)
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
  kill -USR1 "$supervisor" 2>/dev/null
  # dockerd gives running containers up to 15 s to stop before it exits.
  waited=0
  while [ "$(phase_of "$(read_state)")" != stopped ]; do
    if [ "$waited" -eq 250 ]; then
      pid=$(dockerd_pid)
      [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    fi
    if [ "$waited" -ge 300 ]; then
      echo "failed."
      echo "  dockerd did not stop within 30 seconds; see $engine_log" >&2
      return 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  echo "docker."
}

do_start() {
  printf 'Starting Docker: '
  state=$(read_state)
  if [ "$(phase_of "$state")" = running ] && engine_answers; then
    echo "docker (already running)."
    return 0
  fi
  before=$(attempt_of "$state")
  echo up >"$engine_want"
  waited=0
  while :; do
    state=$(read_state)
    phase=$(phase_of "$state")
    if [ "$phase" = running ]; then
      echo "docker."
      show_notes
      return 0
    fi
    if [ "$phase" = failed ] && [ "$(attempt_of "$state")" -gt "$before" ]; then
      echo "failed."
      show_notes
      echo "  dockerd could not start: $(detail_of "$state")" >&2
      echo "  Check $learner_config (undo your last change if unsure), then run: service docker start" >&2
      echo "  dockerd's log is in $engine_log" >&2
      return 1
    fi
    if [ "$waited" -ge 600 ]; then
      echo "failed."
      echo "  dockerd did not answer within 60 seconds; see $engine_log" >&2
      return 1
    fi
    # Wake the supervisor now (it may be waiting before a retry); again every second, in case
    # it was between two steps when the first signal came.
    [ $((waited % 10)) -eq 0 ] && kill -USR1 "$supervisor" 2>/dev/null
    sleep 0.1
    waited=$((waited + 1))
  done
}

do_status() {
  state=$(read_state)
  if engine_answers; then
    echo "Docker is running."
    return 0
  fi
  case "$(phase_of "$state")" in
    stopped) echo "Docker is not running (stopped; start it with: service docker start)." ;;
    failed) echo "Docker is not running: $(detail_of "$state")" ;;
    *) echo "Docker is not running yet ($(phase_of "$state"))." ;;
  esac
  return 3
}

# dockerd rereads its configuration on SIGHUP (only some settings apply without a restart, as
# on any host); the merged file is written again first.
do_reload() {
  printf 'Reloading Docker configuration: '
  pid=$(dockerd_pid)
  if [ -z "$pid" ]; then
    echo "failed."
    echo "  Docker is not running; start it with: service docker start" >&2
    return 1
  fi
  if ! /usr/local/lib/slipway/engine-config >"$effective_config.new" 2>"$engine_dir/config-notes"; then
    echo "failed."
    echo "  $(grep -v '^note:' "$engine_dir/config-notes" | head -n 1)" >&2
    rm -f "$effective_config.new"
    return 1
  fi
  mv "$effective_config.new" "$effective_config"
  kill -HUP "$pid"
  echo "docker."
  show_notes
}

case "${1:-}" in
  start) do_start ;;
  stop) do_stop ;;
  restart | force-reload) do_stop && do_start ;;
  reload) do_reload ;;
  status) do_status ;;
  *)
    echo "Usage: service docker {start|stop|restart|reload|force-reload|status}" >&2
    exit 1
    ;;
esac
