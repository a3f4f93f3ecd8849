# Shared by the engine supervisor and by /etc/init.d/docker (sourced, POSIX sh). Paths are
# spelled out rather than taken from the environment because `service` runs init scripts
# with an empty one (env -i).
run_dir=/home/learner/.run
engine_dir="$run_dir/engine"
# What the learner wants: "up" or "down" (service docker stop/start write it).
engine_want="$engine_dir/want"
# "<attempt> <starting|running|failed|stopped> [detail]", written whole by the supervisor.
engine_state="$engine_dir/state"
engine_socket="$run_dir/docker.sock"
# dockerd's own output, where Debian's init script keeps it.
engine_log=/var/log/docker.log
# Lines for the learner's next prompt (see /etc/slipway.bashrc).
engine_notices="$engine_dir/notices"
# The learner's file, and the one dockerd really reads (theirs with Slipway's settings merged in).
learner_config=/etc/docker/daemon.json
effective_config="$engine_dir/daemon.json"

engine_answers() {
  curl -sf --max-time 2 --unix-socket "$engine_socket" http://engine/_ping >/dev/null 2>&1
}

# Prints "<attempt> <state> [detail]"; "0 unknown" before the supervisor has written one.
read_state() {
  cat "$engine_state" 2>/dev/null || echo "0 unknown"
}

# The pid of the running dockerd, or nothing.
dockerd_pid() {
  cat "$engine_dir/dockerd.pid" 2>/dev/null
}
