#!/bin/bash
# Fills the apt cache at image build time: runs apt-cacher-ng, then asks apt, through it, for
# the package lists and for every package in apt-packages.txt with what it depends on and
# recommends, resolved as if on the bare debian image learners start from. What apt-cacher-ng
# stores on the way is the cache; apt's own copies are thrown away.
set -euo pipefail
list=/etc/apt-cacher-ng/slipway-packages.txt
base_status=/tmp/warm/base-status   # dpkg status of the bare debian image (see Dockerfile)

apt-cacher-ng -c /etc/apt-cacher-ng &
acng=$!
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/3142) 2>/dev/null && break
  sleep 0.1
done

apt_get() {
  apt-get -q \
    -o Acquire::http::Proxy=http://127.0.0.1:3142/ \
    -o Dir::State::status="$base_status" \
    -o Dir::State::Lists=/tmp/warm/lists \
    -o Dir::Cache=/tmp/warm/cache \
    -o Debug::NoLocking=1 \
    "$@"
}
mkdir -p /tmp/warm/lists/partial /tmp/warm/cache/archives/partial
apt_get update
# shellcheck disable=SC2046 # one word per package name
apt_get install --download-only -y $(sed -e 's/#.*//' "$list")

kill "$acng"
wait "$acng" || true
rm -rf /tmp/warm
echo "apt cache: $(du -sh /var/cache/apt-cacher-ng | cut -f1) in $(find /var/cache/apt-cacher-ng -name '*.deb' | wc -l) packages"
