#!/bin/sh
# Holds each learner's shell in the node with dtach, so that it outlives the server's exec: a
# Slipway server that restarts (a crash, the supervisor) attaches again, and the learner finds
# their shell and its running programs; full-screen programs redraw on the SIGWINCH dtach sends.
# The server's exec is only a dtach client; it never runs the shell itself.
#   shell open <id>     start a login shell held as <id> and attach to it (in a TTY exec)
#   shell attach <id>   attach to the held shell <id>; exit 3 when it is not held
#   shell held <id>     exit 0 when <id> is held
#   shell close <id>    end the held shell <id> and its client
#   shell orphan        mark every held shell as left by an earlier server (after a restart)
#   shell sweep         end the marked shells no client attached to since
set -eu
dir="$XDG_RUNTIME_DIR/shells"
command="${1:-}"
id="${2:-}"
if [ "$command" != sweep ] && [ "$command" != orphan ]; then
  case "$id" in '' | *[!0-9a-f-]*) echo "slipway-shell: not a shell id: $id" >&2; exit 2 ;; esac
fi
sock="$dir/$id.sock"

# Ends the dtach clients of earlier execs, if they still run: one that a dead server left
# attached blocks on output nobody reads, and dtach would wait for it. (The master runs the
# same command line as the client that created it, and is spared.)
end_clients() {
  master=$(cat "$dir/$1.master" 2>/dev/null) || master=
  for pid in $(pgrep -f -- "^dtach -[ac] $dir/$1.sock " || true); do
    [ "$pid" = "$master" ] || kill "$pid" 2>/dev/null || true
  done
}

end_shell() {
  pid=$(cat "$dir/$1.master" 2>/dev/null) || pid=
  # The master's end closes the terminal, and the kernel hangs up the shell and its jobs.
  if [ -n "$pid" ] && grep -q dtach "/proc/$pid/cmdline" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
  end_clients "$1"
  rm -f "$dir/$1".*
}

# -E: no detach key, -z: Ctrl-Z goes to the shell, -r winch: redraw by SIGWINCH on attach.
# Exits with the shell's own exit status once the shell has ended.
attach() {
  end_clients "$id"
  # Taken over: no longer an orphan of an earlier server.
  rm -f "$dir/$id.orphan"
  echo $$ >"$dir/$id.client"
  cd "$HOME"
  status=0
  dtach "$@" || status=$?
  if [ ! -S "$sock" ]; then
    [ -s "$dir/$id.status" ] && status=$(cat "$dir/$id.status")
    rm -f "$dir/$id".*
  fi
  exit "$status"
}

case "$command" in
  open)
    mkdir -p -m 0700 "$dir"
    # Run by dtach's master in a new terminal: notes the master's pid, runs the shell, and
    # keeps its exit status for the client.
    attach -c "$sock" -E -z -r winch /bin/sh -c 'echo "$PPID" >"$0.master"; /usr/local/bin/slipway-enter /bin/bash -l; echo $? >"$0.status"' "$dir/$id"
    ;;
  attach)
    [ -S "$sock" ] || exit 3
    attach -a "$sock" -E -z -r winch
    ;;
  held) [ -S "$sock" ] ;;
  close) end_shell "$id" ;;
  orphan)
    for held in "$dir"/*.sock; do
      [ -S "$held" ] && : >"${held%.sock}.orphan"
    done
    ;;
  sweep)
    for orphan in "$dir"/*.orphan; do
      [ -e "$orphan" ] || continue
      end_shell "$(basename "$orphan" .orphan)"
    done
    ;;
  *) echo "usage: shell open|attach|held|close <id> | shell orphan | shell sweep" >&2; exit 2 ;;
esac
