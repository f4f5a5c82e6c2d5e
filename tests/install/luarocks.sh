#!/usr/bin/env bash
# Installs the rock from rockspec/huddleup-token-scm-1.rockspec into a
# throwaway LuaRocks tree, offline, and checks that lua5.4 loads
# huddleup.token from that tree and that the Prosody modules are there.
#
# Usage: tests/install/luarocks.sh SOURCE_DIR
# Environment: HU_LUAROCKS_TREE keeps the tree in that folder (for example
# to start Prosody against it afterwards); by default the tree is deleted.
#
# The last lines print the settings a Prosody needs to load the installed
# copy:
#   HU_INSTALLED_LUA_CPATH=...   value for LUA_CPATH_5_4
#   HU_INSTALLED_PLUGIN_PATH=... entry for plugin_paths
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 SOURCE_DIR" >&2
	exit 2
fi
source_dir=$(cd "$1" && pwd)

failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

work_dir=$(mktemp -d "${TMPDIR:-/tmp}/hu-luarocks.XXXXXX")
cleanup() {
	rm -rf "$work_dir"
}
trap cleanup EXIT

if [ -n "${HU_LUAROCKS_TREE:-}" ]; then
	mkdir -p "$HU_LUAROCKS_TREE"
	tree=$(cd "$HU_LUAROCKS_TREE" && pwd)
else
	tree=$work_dir/tree
fi

# luarocks make builds in build.luarocks/ inside the source folder, so it
# runs on a copy and leaves the checkout as it was.
mkdir "$work_dir/src"
tar -C "$source_dir" --exclude=./.git --exclude='./build*' --exclude=node_modules -cf - . |
	tar -C "$work_dir/src" -xf -

echo "== luarocks make into $tree"
(cd "$work_dir/src" &&
	luarocks --lua-version=5.4 --tree "$tree" make rockspec/huddleup-token-scm-1.rockspec) \
	>"$work_dir/make.log" 2>&1 || {
	cat "$work_dir/make.log" >&2
	echo "FAIL: luarocks make exited with an error (log above)" >&2
	exit 1
}
grep "is now installed" "$work_dir/make.log" || true

echo "== installed files"
module_file=$tree/lib/lua/5.4/huddleup/token.so
plugin_dir=$tree/share/lua/5.4
if [ -f "$module_file" ]; then
	echo "ok: $module_file"
else
	fail "the C module is missing: $module_file"
fi

# The Prosody modules and the libraries they load with module:require.
prosody_modules=0
for source_module in "$source_dir"/lua/*.lua; do
	name=$(basename "$source_module")
	prosody_modules=$((prosody_modules + 1))
	if cmp -s "$source_module" "$plugin_dir/$name"; then
		echo "ok: $plugin_dir/$name"
	else
		fail "$name is missing from $plugin_dir or differs from lua/$name"
	fi
done
if [ "$prosody_modules" -eq 0 ]; then
	fail "no lua/*.lua files in $source_dir"
fi

if luarocks --lua-version=5.4 --tree "$tree" list --porcelain huddleup-token | grep -q '^huddleup-token'; then
	echo "ok: luarocks list shows huddleup-token"
else
	fail "luarocks list does not show huddleup-token in $tree"
fi

# A Lua C module must not link liblua: the interpreter already has the
# Lua core, and a second copy corrupts its state.
if [ -f "$module_file" ] && ldd "$module_file" | grep -q 'liblua'; then
	fail "$module_file links liblua: $(ldd "$module_file" | grep liblua)"
fi

echo "== require \"huddleup.token\" with lua5.4"
expected_version=$(sed -n 's/^project([^)]*VERSION \([0-9][0-9.]*\).*/\1/p' "$source_dir/CMakeLists.txt")
# The _5_4 variables take precedence over what `luarocks path` sets.
unset LUA_PATH_5_4 LUA_CPATH_5_4
eval "$(luarocks --lua-version=5.4 --tree "$tree" path)"
if ! loaded=$(lua5.4 -e '
	local token = require "huddleup.token"
	local path = package.searchpath("huddleup.token", package.cpath)
	io.write(tostring(token._VERSION), " ", tostring(path), "\n")
' 2>&1); then
	fail "lua5.4 cannot require huddleup.token from $tree: $loaded"
else
	loaded_version=${loaded%% *}
	loaded_path=${loaded#* }
	if [ "$loaded_path" = "$module_file" ]; then
		echo "ok: loaded $loaded_path"
	else
		fail "huddleup.token was loaded from $loaded_path, expected $module_file"
	fi
	if [ "$loaded_version" = "$expected_version" ]; then
		echo "ok: huddleup.token._VERSION is $loaded_version"
	else
		fail "huddleup.token._VERSION is '$loaded_version', expected '$expected_version' from CMakeLists.txt"
	fi
fi

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed" >&2
	exit 1
fi

if [ -n "${HU_LUAROCKS_TREE:-}" ]; then
	echo "The tree stays in $tree."
else
	echo "The tree is deleted on exit; set HU_LUAROCKS_TREE=DIR to keep it."
fi
echo "HU_INSTALLED_LUA_CPATH=$tree/lib/lua/5.4/?.so;;"
echo "HU_INSTALLED_PLUGIN_PATH=$plugin_dir"
