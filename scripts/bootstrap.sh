#!/usr/bin/env bash
# Brings a machine to what Slipway needs, idempotently: Node.js 22, the npm dependencies, a
# running Docker engine, mkfs.ext4 (for the sandboxes' disks) and debootstrap (for the
# offline Debian base image). Sourced by scripts/start.sh and scripts/test.sh; prints what it
# does, and one sentence on what to install when it cannot do it itself. Pass --with-chromium
# for the browser tests.
set -euo pipefail

slipway_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state_dir="$slipway_root/.slipway"
mkdir -p "$state_dir"

say() { printf 'slipway: %s\n' "$*" >&2; }
die() { printf 'slipway: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }
has_apt() { command -v apt-get >/dev/null 2>&1; }
apt_updated=""
apt_install() {
  local log="$state_dir/apt.log"
  if [ -z "$apt_updated" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 || { tail -n 5 "$log" >&2; die "apt-get update failed (full output in .slipway/apt.log)."; }
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=l apt-get install -y -qq --no-install-recommends "$@" >>"$log" 2>&1 \
    || { tail -n 5 "$log" >&2; die "installing $* failed (full output in .slipway/apt.log)."; }
}

# Node.js trusts only the CA list it ships with, not the machine's store: behind an
# HTTPS-intercepting proxy whose CA the machine trusts (update-ca-certificates), npm would
# fail with SELF_SIGNED_CERT_IN_CHAIN. The machine's store (which includes Node's CAs) it is.
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -s /etc/ssl/certs/ca-certificates.crt ]; then
  export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi

# --- Node.js 22 ----------------------------------------------------------------------------
# The npm registry carries Node.js itself as node-<platform>-<arch> packages (what the `node`
# package installs through an install script; we take the binary package directly, which
# needs no install script).
node_ok() { command -v node >/dev/null 2>&1 && node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=12)?0:1)'; }
node_home="$state_dir/node/node_modules/node-$(uname -s | tr 'A-Z' 'a-z')-$(uname -m | sed -e 's/x86_64/x64/' -e 's/aarch64/arm64/')"
export PATH="$node_home/bin:$PATH"
source "$slipway_root/scripts/fetch-node.sh"
if ! node_ok; then
  say "Node.js $(node -v 2>/dev/null || echo 'is missing'); installing Node.js 22 from the npm registry into .slipway/node (once)…"
  mkdir -p "$state_dir/node"
  if command -v npm >/dev/null 2>&1; then
    npm install --prefix "$state_dir/node" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "$(basename "$node_home")@22" >"$state_dir/npm.log" 2>&1 \
      || die "installing Node.js 22 with npm failed (npm's output is in .slipway/npm.log): check the network, or install Node.js 22 from https://nodejs.org/, and run this again."
  else
    # No npm either (a bare server): the same package, fetched with curl.
    fetch_package "$(basename "$node_home")" 22 "$node_home" || exit 1
  fi
  hash -r
  node_ok || die "installing Node.js 22 failed: install Node.js 22 from https://nodejs.org/ and run this again."
fi
# An older npm (Debian's 9.x) would rewrite package-lock.json and reinstall everything on every
# start; npm 11 comes from the registry into .slipway/node beside Node itself.
npm_ok() { [ "$(npm --version 2>/dev/null | cut -d. -f1)" -ge 11 ] 2>/dev/null; }
export PATH="$state_dir/node/node_modules/.bin:$PATH"
if ! npm_ok; then
  say "npm $(npm --version 2>/dev/null || echo 'is missing'); installing npm 11 into .slipway/node (once)…"
  if command -v npm >/dev/null 2>&1; then
    npm install --prefix "$state_dir/node" --no-save --no-package-lock --no-audit --no-fund --loglevel=error npm@11 >"$state_dir/npm.log" 2>&1 \
      || die "installing npm 11 failed (npm's output is in .slipway/npm.log): check the network, or run npm install -g npm@11, and run this again."
  else
    fetch_package npm 11 "$state_dir/node/node_modules/npm" || exit 1
    mkdir -p "$state_dir/node/node_modules/.bin"
    ln -sf ../npm/bin/npm-cli.js "$state_dir/node/node_modules/.bin/npm"
    ln -sf ../npm/bin/npx-cli.js "$state_dir/node/node_modules/.bin/npx"
  fi
  hash -r
  npm_ok || die "installing npm 11 failed: install npm 11 (npm install -g npm@11) and run this again."
fi

# --- npm dependencies (reinstalled only when package-lock.json changed) --------------------
lock_hash="$(sha256sum "$slipway_root/package-lock.json" | cut -c1-16)-$(node -v)"
if [ ! -d "$slipway_root/node_modules" ] || [ "$(cat "$state_dir/npm-installed" 2>/dev/null)" != "$lock_hash" ]; then
  say "installing npm dependencies…"
  # `npm install`, not `npm ci`: npm 11 leaves other platforms' optional packages (Astro's
  # compiler bindings) out of the lock file and then `npm ci` refuses it as out of sync.
  # The lock file still pins every version.
  (cd "$slipway_root" && npm install --no-audit --no-fund --loglevel=error >"$state_dir/npm.log" 2>&1) \
    || die "installing the npm dependencies failed (npm's output is in .slipway/npm.log): check the network or npm's registry setting (npm config get registry) and run this again."
  echo "$lock_hash" > "$state_dir/npm-installed"
fi

# --- Docker engine -------------------------------------------------------------------------
engine_up() { node -e '
  const req = require("http").request({ socketPath: "/var/run/docker.sock", path: "/_ping" }, (res) => process.exit(res.statusCode === 200 ? 0 : 1));
  req.on("error", () => process.exit(1)); req.setTimeout(3000, () => process.exit(1)); req.end();' 2>/dev/null; }
if [ -n "${DOCKER_HOST:-}" ]; then
  : # the operator points at an engine elsewhere; dockerode uses DOCKER_HOST as the CLI does
elif ! engine_up; then
  if ! command -v dockerd >/dev/null 2>&1; then
    if is_root && has_apt; then
      say "no Docker engine found; installing Debian's docker.io (once)…"
      # With AppArmor on in the kernel, dockerd needs apparmor_parser to load its profile
      # (docker.io only recommends the package, and recommends are not installed here).
      if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ]; then apt_install docker.io apparmor; else apt_install docker.io; fi
    else
      die "Slipway needs a Docker engine and none is running: install Docker Engine (on Debian/Ubuntu: sudo apt-get install docker.io) and start it."
    fi
  fi
  if ! engine_up; then
    if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1 && is_root; then
      say "starting the Docker engine with systemctl…"
      systemctl start docker || die "the Docker engine did not start (systemctl start docker failed): see journalctl -u docker, fix what it names and run this again."
    elif is_root; then
      say "starting the Docker engine (dockerd, log in .slipway/dockerd.log)…"
      nohup dockerd >"$state_dir/dockerd.log" 2>&1 &
    else
      die "the Docker engine is installed but not running: start it (sudo systemctl start docker, or sudo dockerd) and run this again."
    fi
    for _ in $(seq 1 100); do engine_up && break; sleep 0.2; done
    engine_up || die "the Docker engine did not start; see .slipway/dockerd.log."
  fi
fi

# --- /dev/net/tun, for the sandboxes' rootless network (slirp4netns) -----------------------
# A node runs as an unprivileged user and opens the TUN device; Docker gives the container the
# host's device mode. Distributions with udev make it 0666 (opening it grants nothing without
# CAP_NET_ADMIN in a namespace of one's own); minimal and container hosts may leave it 0600.
if [ ! -c /dev/net/tun ] || [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
  if is_root; then
    say "making /dev/net/tun usable by the sandboxes' unprivileged network helper (mode 0666, as udev sets it)…"
    [ -c /dev/net/tun ] || { mkdir -p /dev/net && mknod /dev/net/tun c 10 200; }
    chmod 0666 /dev/net/tun
  else
    die "sandboxes need /dev/net/tun readable and writable by every user: run 'sudo chmod 0666 /dev/net/tun' (or 'sudo modprobe tun' if it is missing) and run this again."
  fi
fi

# --- mkfs.ext4, for each sandbox's own disk (server/sandbox/docker/node-disk.ts) ------------
# Part of e2fsprogs, on nearly every Debian and Ubuntu system already; minimal images may lack it.
if [ "${SLIPWAY_SANDBOX_DISK_MB:-}" != 0 ] && ! command -v mkfs.ext4 >/dev/null 2>&1 && [ ! -x /sbin/mkfs.ext4 ]; then
  if is_root && has_apt; then
    say "installing e2fsprogs (once), to give each sandbox a disk of its own…"
    apt_install e2fsprogs
  fi
fi

# --- debootstrap, for the Debian base image built without a registry ----------------------
if [ ! -x /usr/sbin/debootstrap ] && [ -z "${SLIPWAY_BASE_IMAGE:-}" ]; then
  if is_root && has_apt; then
    say "installing debootstrap (once), to build the Debian base image offline…"
    apt_install debootstrap
  fi
fi
# Ubuntu has no Debian archive key by default: without it debootstrap cannot check what it
# downloads from Debian's archive. (Debian has it already.)
if [ -x /usr/sbin/debootstrap ] && [ -z "${SLIPWAY_BASE_IMAGE:-}" ] && [ ! -s /usr/share/keyrings/debian-archive-keyring.gpg ]; then
  if is_root && has_apt; then
    say "installing debian-archive-keyring (once), to check the Debian packages the base image is made of…"
    apt_install debian-archive-keyring
  fi
fi

# --- Chromium, for the browser tests ------------------------------------------------------
if [ "${1:-}" = "--with-chromium" ] && [ ! -x /usr/bin/chromium ]; then
  if is_root && has_apt; then
    say "installing Debian's Chromium for the browser tests (once)…"
    apt_install chromium
  else
    die "the browser tests need Chromium at /usr/bin/chromium: install it (sudo apt-get install chromium) and run this again."
  fi
fi
