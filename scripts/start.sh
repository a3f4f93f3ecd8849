#!/usr/bin/env bash
# `npm start`: set up everything on first run (Node 22, dependencies, Docker engine, images,
# mirror, site) and start Slipway. Later runs rebuild nothing that is up to date.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$slipway_root"
say "building the site…"
npx astro build --silent >"$state_dir/build.log" 2>&1 || die "building the site failed (the build's output is in .slipway/build.log): fix what it names (a lesson file, usually) and run this again."
# The server runs under a supervisor that starts it again if it dies (server/supervisor.ts).
exec node server/supervisor.ts
