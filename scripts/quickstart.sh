#!/usr/bin/env bash
# The README's first command: install, build examples/node.yml, boot it under QEMU and watch the
# services come up. The node powers itself off a few seconds after it is ready.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
mkdir -p out
node builder/bin/lkbuild.js build -o out examples/node.yml
echo "booting out/node under QEMU (it powers off by itself once ready; boot it interactively with: npx lkbuild run qemu out/node)"
node builder/bin/lkbuild.js run qemu --append "lk.poweroff=ready+5" out/node </dev/null
