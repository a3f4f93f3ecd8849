#!/usr/bin/env bash
# `npm test`: the whole suite (unit, integration against the real engine, browser), after the
# same set-up as `npm start`. Extra arguments go to vitest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" --with-chromium
cd "$slipway_root"
say "building the site…"
npx astro build --silent >"$state_dir/build.log" 2>&1 || die "building the site failed (the build's output is in .slipway/build.log): fix what it names (a lesson file, usually) and run this again."
say "type-checking…"
npx tsc -p .
# The package caches never fetch from outside during tests (tests/support/slipway.ts and
# global-setup set this too, for runs of single files).
export SLIPWAY_OFFLINE=1
report="$state_dir/test-report.json"
rm -f "$report"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
# A closing line any CI can read, and a run that executed no test is a failure.
node -e '
  const r = require(process.argv[1]);
  const passed = r.numPassedTests, failed = r.numFailedTests, skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  if (passed === 0) { console.error("slipway: no test ran"); process.exit(1); }
' "$report" || status=1
exit "$status"
