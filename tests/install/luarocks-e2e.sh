#!/usr/bin/env bash
# Installs the rock into a throwaway LuaRocks tree with
# tests/install/luarocks.sh, then runs the end-to-end scenarios of the token
# path (tests/e2e/run.mjs --only token-path) on a real Prosody that loads
# the Prosody modules and huddleup/token.so from that tree instead of the
# checkout. run.mjs's loaded-copy check fails unless the load log lines
# name the tree's files.
#
# Usage: tests/install/luarocks-e2e.sh SOURCE_DIR CLI PROSODY13_DIR [PROSODY_VERSIONS]
#   CLI               the huddleup-token command that issues the tokens
#   PROSODY13_DIR     folder for Prosody 13 (scripts/prosody13.sh)
#   PROSODY_VERSIONS  comma-separated, default 0.12,13
# Environment: NODE, the Node.js command (default node).
set -euo pipefail

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
	echo "usage: $0 SOURCE_DIR CLI PROSODY13_DIR [PROSODY_VERSIONS]" >&2
	exit 2
fi
source_dir=$(cd "$1" && pwd)
cli=$2
prosody13_dir=$3
versions=${4:-0.12,13}

work_dir=$(mktemp -d "${TMPDIR:-/tmp}/hu-luarocks-e2e.XXXXXX")
cleanup() {
	rm -rf "$work_dir"
}
trap cleanup EXIT

HU_LUAROCKS_TREE=$work_dir/tree bash "$source_dir/tests/install/luarocks.sh" "$source_dir" |
	tee "$work_dir/install.log"

installed_cpath=$(sed -n 's/^HU_INSTALLED_LUA_CPATH=//p' "$work_dir/install.log")
plugin_dir=$(sed -n 's/^HU_INSTALLED_PLUGIN_PATH=//p' "$work_dir/install.log")
# run.mjs takes the folder that contains huddleup/token.so.
lua_cpath_dir=${installed_cpath%%/\?.so*}
if [ -z "$plugin_dir" ] || [ ! -f "$lua_cpath_dir/huddleup/token.so" ]; then
	echo "FAIL: luarocks.sh printed no usable HU_INSTALLED_LUA_CPATH and HU_INSTALLED_PLUGIN_PATH" >&2
	exit 1
fi

echo "== end-to-end token path against $plugin_dir and $lua_cpath_dir"
# Without the build tree's module path in the environment, Prosody can
# only find the installed huddleup/token.so.
unset LUA_CPATH_5_4
"${NODE:-node}" "$source_dir/tests/e2e/run.mjs" \
	--cli "$cli" \
	--source-dir "$source_dir" \
	--plugin-dir "$plugin_dir" \
	--lua-cpath "$lua_cpath_dir" \
	--prosody-versions "$versions" \
	--prosody13-dir "$prosody13_dir" \
	--only token-path
