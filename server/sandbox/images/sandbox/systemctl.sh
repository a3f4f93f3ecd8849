#!/bin/sh
# systemctl in a Slipway node. There is no systemd here (the node is a container), but
# lessons and habits say `systemctl restart docker`, so the docker unit is passed on to
# /etc/init.d/docker; anything else gets the answer systemctl gives in any container.
set -u

verb=
unit=
for arg in "$@"; do
  case "$arg" in
    -*) ;; # --now, --no-pager, -q: nothing to change here
    *) if [ -z "$verb" ]; then verb=$arg; elif [ -z "$unit" ]; then unit=$arg; fi ;;
  esac
done

not_systemd() {
  echo "System has not been booted with systemd as init system (PID 1). Can't operate." >&2
  echo "Failed to connect to bus: Host is down" >&2
  exit 1
}

case "$verb" in
  daemon-reload) exit 0 ;;
esac
case "$unit" in
  docker | docker.service) ;;
  *) not_systemd ;;
esac

case "$verb" in
  start | stop | restart | reload | force-reload) exec /etc/init.d/docker "$verb" ;;
  try-restart | reload-or-restart) exec /etc/init.d/docker restart ;;
  status) exec /etc/init.d/docker status ;;
  is-active)
    if /etc/init.d/docker status >/dev/null; then echo active; else echo inactive; exit 3; fi
    ;;
  enable | disable) echo "docker.service always starts with this sandbox node; nothing to $verb." ;;
  is-enabled) echo enabled ;;
  *) not_systemd ;;
esac
