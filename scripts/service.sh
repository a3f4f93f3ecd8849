#!/usr/bin/env bash
# `./slipway service install | uninstall | print`: Slipway as a systemd service that starts at
# boot and is started again if it ends. It runs `./slipway start` from this folder (which sets
# up anything missing, as at the first start); settings go in /etc/slipway.env
# (SLIPWAY_PUBLIC_URL=…, one per line), which install creates with the common ones commented.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
unit_file="${SLIPWAY_UNIT_FILE:-/etc/systemd/system/slipway.service}"
env_file="${SLIPWAY_ENV_FILE:-/etc/slipway.env}"
die() { printf 'slipway: %s\n' "$*" >&2; exit 1; }

unit() {
  cat <<UNIT
[Unit]
Description=Slipway: Docker lessons with a real terminal
Documentation=file://$root/README.md
After=network-online.target docker.service
Wants=network-online.target

[Service]
Type=simple
WorkingDirectory=$root
EnvironmentFile=-$env_file
ExecStart=$root/slipway start
# The server has a supervisor of its own; this catches the supervisor itself ending.
Restart=always
RestartSec=5
# SIGTERM stops the server cleanly (it removes the learners' sandboxes); give it time.
KillSignal=SIGTERM
TimeoutStopSec=120

[Install]
WantedBy=multi-user.target
UNIT
}

env_template() {
  cat <<ENV
# Slipway's settings for the systemd service (see the Configuration table in $root/README.md).
# One NAME=value per line; restart with: systemctl restart slipway
#SLIPWAY_PORT=8080
#SLIPWAY_PUBLIC_URL=https://slipway.example.org/
#SLIPWAY_PORTS_URL=https://ports.slipway.example.org/
#SLIPWAY_MAX_SANDBOXES=30
#SLIPWAY_SANDBOXES_PER_ADDRESS=30
#SLIPWAY_TEACHER_KEY=
ENV
}

case "${1:-}" in
  print) unit ;;
  install)
    [ "$(id -u)" = 0 ] || die "installing the service needs root: run sudo ./slipway service install."
    command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ] || die "this machine does not run systemd, so there is no service to install: start Slipway with ./slipway start (under your own supervisor if you have one)."
    unit >"$unit_file"
    [ -e "$env_file" ] || { env_template >"$env_file"; chmod 0600 "$env_file"; }
    systemctl daemon-reload
    systemctl enable --now slipway.service
    printf 'slipway: installed %s and started it; settings in %s; logs: journalctl -u slipway -f\n' "$unit_file" "$env_file"
    ;;
  uninstall)
    [ "$(id -u)" = 0 ] || die "removing the service needs root: run sudo ./slipway service uninstall."
    command -v systemctl >/dev/null 2>&1 && systemctl disable --now slipway.service 2>/dev/null || true
    rm -f "$unit_file"
    command -v systemctl >/dev/null 2>&1 && systemctl daemon-reload 2>/dev/null || true
    printf 'slipway: the service is removed (%s is kept)\n' "$env_file"
    ;;
  *) printf 'usage: ./slipway service install | uninstall | print\n' >&2; exit 2 ;;
esac
