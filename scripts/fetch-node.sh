#!/usr/bin/env bash
# Node.js 22 and npm 11 from the npm registry with nothing but curl and tar, for a machine that
# has neither Node nor npm (a bare Debian or Ubuntu server). Sourced by bootstrap.sh; defines
# fetch_package <name> <major> <dir>: the newest <major>.x of package <name>, unpacked in <dir>.
fetch_package() {
  local name="$1" major="$2" dir="$3"
  local registry="${npm_config_registry:-https://registry.npmjs.org/}"
  registry="${registry%/}"
  command -v curl >/dev/null 2>&1 || { printf 'slipway: %s\n' "curl is needed to fetch Node.js: install it (sudo apt-get install curl) and run this again." >&2; return 1; }
  # The abbreviated document lists every version as a key; no JSON parser needed.
  local version
  version=$(curl -fsSL -H 'Accept: application/vnd.npm.install-v1+json' "$registry/$name" | grep -oE "\"$major\\.[0-9]+\\.[0-9]+\":" | tr -d '":' | sort -V | tail -n 1) || true
  [ -n "$version" ] || { printf 'slipway: %s\n' "the npm registry ($registry) did not list $name $major.x: check the network or npm_config_registry." >&2; return 1; }
  rm -rf "$dir" && mkdir -p "$dir"
  curl -fsSL "$registry/$name/-/$(basename "$name")-$version.tgz" | tar -xz -C "$dir" --strip-components=1
}
