#!/usr/bin/env bash
# Runs the local demo: a throwaway Prosody on 127.0.0.1 with this project's
# modules, tokens from build/huddleup-token, and a moderator and a member
# joining a room over WebSocket and over BOSH. Build the project first:
#
#   cmake -S . -B build && cmake --build build && deploy/demo/run.sh
#
# Needs Debian's prosody package (0.12), Node.js 18 or later and npm.
# BUILD_DIR selects another build folder (default: build).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="$(cd "$root" && realpath -m "${BUILD_DIR:-build}")"
e2e_dir="$root/tests/e2e"

for tool in prosody node npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "run.sh: $tool not found; install it first (apt-get install prosody nodejs npm)" >&2
    exit 1
  fi
done
if [[ ! -x "$build_dir/huddleup-token" || ! -f "$build_dir/lua/huddleup/token.so" ]]; then
  echo "run.sh: $build_dir/huddleup-token or $build_dir/lua/huddleup/token.so is missing;" \
    "build first: cmake -S . -B build && cmake --build build" >&2
  exit 1
fi

if [[ ! -d "$e2e_dir/node_modules" ]]; then
  echo "Installing the demo's XMPP client libraries (npm ci in tests/e2e)..."
  npm ci --prefix "$e2e_dir" --no-audit --no-fund >/dev/null
fi

exec node "$e2e_dir/demo.mjs" \
  --cli "$build_dir/huddleup-token" \
  --lua-cpath "$build_dir/lua" \
  --source-dir "$root" "$@"
