#!/bin/sh
# Builds the Lua C module huddleup.token and installs it, with the Prosody
# modules, below DESTDIR. The paths are the ones Jitsi's Prosody image loads
# from:
#   /usr/local/lib/lua/5.4/huddleup/token.so  (on Lua 5.4's default cpath)
#   /prosody-plugins/mod_*.lua                (in the image's plugin_paths)
# The Dockerfile beside this script runs it; tests/install/docker-config.sh
# runs it too, with a temporary DESTDIR.
#
# Usage: build-module.sh SOURCE_DIR BUILD_DIR DESTDIR
set -eu

if [ $# -ne 3 ]; then
	echo "usage: $0 SOURCE_DIR BUILD_DIR DESTDIR" >&2
	exit 2
fi
source_dir=$1
build_dir=$2
destdir=$3

cmake -S "$source_dir" -B "$build_dir" \
	-DCMAKE_BUILD_TYPE=Release \
	-DBUILD_TESTING=OFF \
	-DHU_BUILD_CLI=OFF \
	-DHU_INSTALL_LIBRARY=OFF \
	-DCMAKE_INSTALL_PREFIX=/usr/local \
	-DHU_INSTALL_LUA_CMOD_DIR=/usr/local/lib/lua/5.4 \
	-DHU_INSTALL_PROSODY_MODULES_DIR=/prosody-plugins
cmake --build "$build_dir" --target lua_huddleup_token -j "$(nproc)"
DESTDIR=$destdir cmake --install "$build_dir" --component lua
