#!/usr/bin/env bash
# Unpacks Prosody 13.0.1 from bookworm-backports into a folder beside the
# installed 0.12.3, so the end-to-end suite can run on both versions.
# Prints the path of a launcher that runs it with lua5.4.
#
# Usage: scripts/prosody13.sh [DEST]   (default: build/prosody13)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest=${1:-$root/build/prosody13}
version=13.0.1
launcher=$dest/prosody

if [ -x "$launcher" ] && grep -q "$version" "$dest/root/usr/lib/prosody/prosody.version" 2>/dev/null; then
	echo "$launcher"
	exit 0
fi

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

sources=/etc/apt/sources.list.d/bookworm-backports.sources
if ! apt-cache policy prosody 2>/dev/null | grep -q "^ *$version"; then
	if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
		as_root tee "$sources" >/dev/null <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
	fi
	as_root apt-get update -qq >&2
fi

# Prosody 13's Lua dependencies are the ones 0.12.3 already pulled in; its
# libicu72 and libssl3 are on every bookworm system with 0.12.3.
rm -rf "$dest"
mkdir -p "$dest/download"
(cd "$dest/download" && apt-get download -q "prosody=$version-1~bpo12+1" >&2 2>/dev/null) ||
	(cd "$dest/download" && apt-get download -q "prosody/bookworm-backports" >&2)
dpkg -x "$dest"/download/prosody_*.deb "$dest/root"

# The packaged launcher has its source and plugin folders compiled in;
# point them at the unpacked copy.
sed -e "s|^CFG_SOURCEDIR=.*|CFG_SOURCEDIR='$dest/root/usr/lib/prosody';|" \
    -e "s|^CFG_PLUGINDIR=.*|CFG_PLUGINDIR='$dest/root/usr/lib/prosody/modules/';|" \
    "$dest/root/usr/bin/prosody" > "$launcher"
chmod +x "$launcher"
echo "$launcher"
