#!/bin/bash
# Builds the course's package index at image build time (the packages of pypi-packages.txt
# are installed by apt beforehand): wheels repacked from Debian's packages, a PEP 503 index
# over them, then a check that every project in it installs from that index alone.
set -euo pipefail
here=$(dirname "$0")
out=/srv/pypi
python3 "$here/repack-wheels.py" "$here/pypi-packages.txt" "$out/files"
python3 "$here/pypi-index.py" "$out"

python3 -m http.server -d "$out" -b 127.0.0.1 3141 >/dev/null 2>&1 &
server=$!
python3 -m venv /tmp/check
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/3141) 2>/dev/null && break; sleep 0.1; done
# Installing every project proves that each one's dependencies are in the index too.
# shellcheck disable=SC2046 # one word per project
/tmp/check/bin/pip install -q --disable-pip-version-check --index-url http://127.0.0.1:3141/simple/ \
  $(ls "$out/files" | cut -d- -f1 | sort -u)
/tmp/check/bin/pip list --disable-pip-version-check
kill "$server"
rm -rf /tmp/check
