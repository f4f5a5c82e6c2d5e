#!/usr/bin/env bash
# Builds the project (installing what is missing) and runs every test:
# the hardening stages first, then the ctest suite, whose summary is the
# last line of test output. ctest runs verbosely so that every end-to-end
# scenario, the flood's and the differential check's counts appear in the
# output, not only the failures.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${HU_BUILD_DIR:-$root/build}

"$root/scripts/bootstrap.sh"

if [ -x "$root/.ci/hardening.sh" ]; then
	"$root/.ci/hardening.sh"
fi

cd "$build_dir"
ctest --verbose --timeout 900
