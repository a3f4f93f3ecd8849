#!/bin/sh
# The node's name server: dnsmasq in the rootless network namespace, on 10.0.2.100:53.
#
# That address is slirp4netns's fixed one for the namespace, so it exists before anything
# here runs, and it is reachable alike from the learner's shell, dockerd, containers on the
# inner default bridge and on inner user-defined networks (through their gateway; Docker's
# embedded DNS forwards to it) and `docker build` steps. The inner daemon's "dns" setting and
# the namespace's /etc/resolv.conf point here.
#
# What it answers:
# - names in /etc/hosts (mirror, package caches, this node), less its loopback lines:
#   rootlesskit adds "127.0.0.1 <node>" there, which is right for the shell but would send an
#   inner container that asks for its node to itself;
# - the session's other nodes ($SLIPWAY_NODES): their addresses are Docker's to give, so they
#   are asked of Docker's DNS in the node's own namespace, which slirp4netns's forwarder at
#   10.0.2.3 reaches. Only those names: Docker's DNS waits ~20 s before it gives up on a name
#   it does not know, so node7 in a two-node session must not go there;
# - every other name: NXDOMAIN at once. No route leads out of a sandbox, so a lookup sent on
#   could only wait for a timeout (dockerd looks up docker.io before it tries the mirror).
set -u
# Node names only (node1 ... node9): anything else could not be a dnsmasq domain list.
nodes=$(printf '%s\n' ${SLIPWAY_NODES:-${SLIPWAY_NODE:-}} | grep -E '^[a-z0-9-]+$')
servers=
[ -n "$nodes" ] && servers="--server=/$(echo $nodes | tr ' ' '/')/10.0.2.3"

hosts=/run/slipway/hosts

while :; do
  # Read again at every start, so `pkill dnsmasq` is how to make it see an edited /etc/hosts.
  mkdir -p "${hosts%/*}"
  grep -vE '^[[:space:]]*(127\.|::1|fe00:|ff0[0-9]:)' /etc/hosts >"$hosts"
  # shellcheck disable=SC2086 # $servers is one word or none
  dnsmasq --keep-in-foreground --conf-file=/dev/null --log-facility=- --pid-file= \
    --listen-address=10.0.2.100 --bind-interfaces --user=nobody --group=nogroup \
    --no-hosts --addn-hosts="$hosts" --no-resolv --no-poll --address=/#/ $servers --max-cache-ttl=10
  echo "slipway-resolver: dnsmasq exited with status $?; starting it again in 1 s" >&2
  sleep 1
done
