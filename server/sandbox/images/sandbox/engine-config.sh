#!/bin/sh
# Prints the configuration the node's dockerd runs with: the learner's /etc/docker/daemon.json
# with Slipway's required settings (daemon-required.json) merged over it. Lists are joined,
# Slipway's entries first (a learner's extra registry mirror is kept, the sandbox's mirror
# too); any other required key wins, and a note on stderr says so.
#
# Why merge rather than pass the required settings as flags: dockerd refuses to start when a
# setting is given both as a flag and in the file, even with the same value, and the file a
# learner edits usually has registry-mirrors in it.
#
# Exits 1 with a one-line message on stderr when the learner's file is not a JSON object.
set -eu
. /usr/local/lib/slipway/engine-common.sh
required=/usr/local/lib/slipway/daemon-required.json
# With a delegated cgroup (entrypoint.sh), dockerd runs in "rootful in a user namespace" mode:
# rootless mode always means no cgroups unless systemd manages them (moby's cgroupDriver), while
# this way it uses the cgroupfs driver on the node's own cgroup tree. It is still the
# namespace's root, which is the node's uid on the host: nothing more than before. The
# supervisor starts it without RootlessKit's environment, so ports go through port-proxy.sh.
if [ "$(cat "$run_dir/cgroup" 2>/dev/null)" = delegated ]; then
  jq '. + {"rootless": false, "userland-proxy-path": "/usr/local/lib/slipway/port-proxy"}' \
    /usr/local/lib/slipway/daemon-required.json >"$engine_dir/daemon-required.json"
  required="$engine_dir/daemon-required.json"
fi

learner=$learner_config
# An empty or missing file means "no settings", as it does for dockerd.
[ -s "$learner" ] || learner=/dev/null

if ! errors=$(jq -s 'if length > 1 then error("holds more than one JSON value")
                     elif length == 1 and (.[0] | type) != "object" then error("must be one JSON object, { ... }; found: \(.[0] | type)")
                     else empty end' "$learner" 2>&1); then
  # jq says "jq: error (at <file>:N): <why>" or "parse error: <why> at line 3, column 5".
  why=$(printf '%s\n' "$errors" | head -n 1 | sed 's/^jq: error ([^)]*): //; s/^jq: error: //; s/^parse error: //')
  echo "$learner_config is not valid: $why" >&2
  exit 1
fi

merge='($learner[0] // {}) as $l | $required[0] as $r
  | def joins($k): ($r[$k] | type) == "array" and (($l[$k] // []) | type) == "array";'

jq -r -n --slurpfile learner "$learner" --slurpfile required "$required" "$merge"'
  $r | keys[] as $k | select((joins($k) | not) and ($l | has($k)) and $l[$k] != $r[$k])
  | "note: this sandbox keeps \"\($k)\": \($r[$k] | tojson) (your file says \($l[$k] | tojson))"' >&2

jq -n --slurpfile learner "$learner" --slurpfile required "$required" "$merge"'
  reduce ($r | keys[]) as $k ($l; .[$k] = (if joins($k) then $r[$k] + ((.[$k] // []) - $r[$k]) else $r[$k] end))'
