#!/usr/bin/env bash
# Installs the Debian and npm packages the project needs when they are
# missing, then configures and builds it in ./build.
#
# Usage: scripts/bootstrap.sh            (from anywhere inside the checkout)
# Environment: HU_BUILD_DIR (default build), HU_WERROR (default ON).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${HU_BUILD_DIR:-$root/build}

debian_packages=(
	build-essential cmake pkg-config
	lua5.4 liblua5.4-dev lua-busted luarocks
	libssl-dev libjansson-dev libjwt-dev
	prosody
	clang libclang-rt-14-dev valgrind
	python3 groff-base man-db
)

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		echo "bootstrap: need root (or sudo) to run: $*" >&2
		exit 2
	fi
}

missing=()
for package in "${debian_packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$package")
	fi
done
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	missing+=(nodejs npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
	echo "bootstrap: installing ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's prosody package starts a system-wide server on *:5222 where
# systemd runs. The tests and the demo start their own on 127.0.0.1 and
# free ports, so only the service this run has just installed is stopped:
# a Prosody that was there before (a Jitsi host's) is left alone.
if [[ " ${missing[*]} " == *" prosody "* ]] && [ -d /run/systemd/system ] &&
   systemctl is-enabled --quiet prosody 2>/dev/null; then
	echo "bootstrap: disabling the prosody service that this run installed"
	as_root systemctl disable --now prosody
fi

if [ ! -d "$root/tests/e2e/node_modules" ] || \
   [ "$root/tests/e2e/package-lock.json" -nt "$root/tests/e2e/node_modules/.package-lock.json" ]; then
	echo "bootstrap: installing the end-to-end test's npm packages"
	(cd "$root/tests/e2e" && npm ci --no-audit --no-fund --loglevel=error)
fi

cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DHU_WERROR="${HU_WERROR:-ON}" -DHU_SHARED_DIR="${HU_SHARED_DIR:-$root/../shared}" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
