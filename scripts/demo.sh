#!/usr/bin/env bash
# Builds the project (installing what is missing), then runs the demo: a
# local Prosody with the modules, tokens from the CLI, and real clients
# joining as moderator and as member over WebSocket and BOSH.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

"$root/scripts/bootstrap.sh" >/dev/null
exec "$root/deploy/demo/run.sh" "$@"
