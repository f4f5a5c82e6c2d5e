#!/usr/bin/env bash
# Installs a configured build into temporary folders (once with --prefix,
# once with DESTDIR) and checks the result as a user of the installed copy
# would: the file layout, the CLI and its man page, the pkg-config file, and
# C programs built through pkg-config, linked to the shared library and
# statically to libhuddleup-token.a.
#
# Usage: tests/install/link.sh SOURCE_DIR BUILD_DIR
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 SOURCE_DIR BUILD_DIR" >&2
	exit 2
fi
source_dir=$(cd "$1" && pwd)
build_dir=$(cd "$2" && pwd)
cc=${CC:-cc}

failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}
expect_file() {
	if [ -f "$1" ]; then
		echo "ok: $1"
	else
		fail "not installed: $1"
	fi
}

work_dir=$(mktemp -d "${TMPDIR:-/tmp}/hu-install.XXXXXX")
trap 'rm -rf "$work_dir"' EXIT

expected_version=$(sed -n 's/^project([^)]*VERSION \([0-9][0-9.]*\).*/\1/p' "$source_dir/CMakeLists.txt")

# The install folders come from the build's cache, so that the checks
# follow a build configured with other GNUInstallDirs or HU_INSTALL_* values.
# GNUInstallDirs leaves the cache entries of the folders below DATAROOTDIR
# empty until set by hand, so tests/CMakeLists.txt passes the man folder in
# HU_INSTALL_MANDIR.
cache_value() {
	sed -n "s/^$1:[A-Z]*=//p" "$build_dir/CMakeCache.txt"
}
under_prefix() {
	case $2 in
	/*) echo "$2" ;;
	*) echo "$1/$2" ;;
	esac
}

prefix=$work_dir/prefix
echo "== cmake --install --prefix $prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$work_dir/install.log" 2>&1 || {
	cat "$work_dir/install.log" >&2
	echo "FAIL: cmake --install exited with an error (log above)" >&2
	exit 1
}

libdir=$(under_prefix "$prefix" "$(cache_value CMAKE_INSTALL_LIBDIR)")
bindir=$(under_prefix "$prefix" "$(cache_value CMAKE_INSTALL_BINDIR)")
includedir=$(under_prefix "$prefix" "$(cache_value CMAKE_INSTALL_INCLUDEDIR)")
mandir=$(under_prefix "$prefix" "${HU_INSTALL_MANDIR:-share/man}")
pkgconfig_dir=$(under_prefix "$prefix" "$(cache_value HU_INSTALL_PKGCONFIG_DIR)")
lua_cmod_dir=$(under_prefix "$prefix" "$(cache_value HU_INSTALL_LUA_CMOD_DIR)")
prosody_modules_dir=$(under_prefix "$prefix" "$(cache_value HU_INSTALL_PROSODY_MODULES_DIR)")

echo "== installed files"
expect_file "$includedir/huddleup/token.h"
expect_file "$libdir/libhuddleup-token.so.$expected_version"
expect_file "$libdir/libhuddleup-token.a"
expect_file "$pkgconfig_dir/huddleup-token.pc"
expect_file "$bindir/huddleup-token"
expect_file "$mandir/man1/huddleup-token.1"
expect_file "$lua_cmod_dir/huddleup/token.so"
for source_module in "$source_dir"/lua/mod_*.lua; do
	expect_file "$prosody_modules_dir/$(basename "$source_module")"
done
if [ -L "$libdir/libhuddleup-token.so" ]; then
	echo "ok: $libdir/libhuddleup-token.so links to $(readlink "$libdir/libhuddleup-token.so")"
else
	fail "the development link $libdir/libhuddleup-token.so is missing"
fi

echo "== installed CLI"
if version_line=$("$bindir/huddleup-token" --version) &&
	[ "$version_line" = "huddleup-token $expected_version" ]; then
	echo "ok: $version_line"
else
	fail "huddleup-token --version printed '${version_line:-}', expected 'huddleup-token $expected_version'"
fi
if MANWIDTH=80 man -l "$mandir/man1/huddleup-token.1" 2>/dev/null | grep -q 'huddleup-token'; then
	echo "ok: man -l renders the installed man page"
else
	fail "man -l cannot render $mandir/man1/huddleup-token.1"
fi

echo "== pkg-config"
export PKG_CONFIG_PATH=$pkgconfig_dir
pc_version=$(pkg-config --modversion huddleup-token) || pc_version=
if [ "$pc_version" = "$expected_version" ]; then
	echo "ok: pkg-config --modversion prints $pc_version"
else
	fail "pkg-config --modversion printed '$pc_version', expected '$expected_version'"
fi
pc_libdir=$(pkg-config --variable=libdir huddleup-token) || pc_libdir=
if [ -n "$pc_libdir" ] && [ "$(cd "$pc_libdir" 2>/dev/null && pwd -P)" = "$(cd "$libdir" && pwd -P)" ]; then
	echo "ok: the libdir of huddleup-token.pc is $libdir"
else
	fail "the libdir of huddleup-token.pc is '$pc_libdir', expected $libdir"
fi

echo "== C program linked to the shared library"
# shellcheck disable=SC2046 # pkg-config output is a list of words.
if "$cc" -Wall -Wextra -Werror -o "$work_dir/link_check" "$source_dir/tests/install/link_check.c" \
	$(pkg-config --cflags --libs huddleup-token) -Wl,-rpath,"$pc_libdir"; then
	loaded_library=$(ldd "$work_dir/link_check" | sed -n 's/^[[:space:]]*libhuddleup-token[^ ]* => \([^ ]*\) .*/\1/p')
	if [ -n "$loaded_library" ] &&
		[ "$(readlink -f "$loaded_library")" = "$(readlink -f "$libdir/libhuddleup-token.so")" ]; then
		echo "ok: link_check loads $libdir/libhuddleup-token.so"
	else
		fail "link_check does not load the installed shared library: ${loaded_library:-not found}"
	fi
	if output=$("$work_dir/link_check") && [ "$output" = "$expected_version" ]; then
		echo "ok: link_check issued and verified a token (library $output)"
	else
		fail "link_check failed or printed '${output:-}' instead of the version $expected_version"
	fi
else
	fail "cannot build link_check against the shared library"
fi

echo "== C program linked statically to libhuddleup-token.a"
# Debian ships libjwt as a shared library only, so the static build links
# libhuddleup-token.a and takes its dependencies from Libs.private and
# Requires.private as shared libraries.
static_dependencies=$(pkg-config --static --libs-only-l huddleup-token | sed 's/-lhuddleup-token//')
# shellcheck disable=SC2046,SC2086
if "$cc" -Wall -Wextra -Werror -o "$work_dir/link_check_static" "$source_dir/tests/install/link_check.c" \
	$(pkg-config --cflags huddleup-token) "$pc_libdir/libhuddleup-token.a" \
	$(pkg-config --static --libs-only-L huddleup-token) $static_dependencies; then
	if readelf -d "$work_dir/link_check_static" | grep -q 'libhuddleup-token'; then
		fail "link_check_static still needs the shared libhuddleup-token"
	else
		echo "ok: link_check_static does not need libhuddleup-token.so"
	fi
	if output=$("$work_dir/link_check_static") && [ "$output" = "$expected_version" ]; then
		echo "ok: link_check_static issued and verified a token"
	else
		fail "link_check_static failed or printed '${output:-}'"
	fi
else
	fail "cannot link link_check statically to libhuddleup-token.a"
fi

echo "== docs/examples/issue_token.c, built as docs/issuing.md says"
# shellcheck disable=SC2046
if "$cc" -Wall -Wextra -Werror -o "$work_dir/issue_token" "$source_dir/docs/examples/issue_token.c" \
	$(pkg-config --cflags --libs huddleup-token) -Wl,-rpath,"$pc_libdir"; then
	secret=example-secret-of-at-least-32-bytes-long
	if url=$(HU_JITSI_HOST=https://meet.example.com HU_JITSI_JWT_APP_ID=example-app \
		HU_JITSI_JWT_SECRET=$secret "$work_dir/issue_token" "Daily Standup" "Ada" moderator); then
		case $url in
		"https://meet.example.com/Daily%20Standup?jwt="*)
			echo "ok: issue_token printed a join URL"
			;;
		*)
			fail "issue_token printed '$url', expected https://meet.example.com/Daily%20Standup?jwt=..."
			;;
		esac
		token=${url#*\?jwt=}
		if result=$(HU_JITSI_JWT_APP_ID=example-app HU_JITSI_JWT_SECRET=$secret \
			"$bindir/huddleup-token" verify --room "Daily Standup" "$token") &&
			[[ $result == '{"valid":true,"moderator":true,'* ]]; then
			echo "ok: the installed CLI verifies the example's token"
		else
			fail "the installed CLI does not accept the example's token: ${result:-}"
		fi
	else
		fail "issue_token exited with an error"
	fi
else
	fail "cannot build docs/examples/issue_token.c"
fi

echo "== DESTDIR install"
destdir=$work_dir/destdir
if DESTDIR=$destdir cmake --install "$build_dir" >"$work_dir/destdir.log" 2>&1; then
	install_prefix=$(cache_value CMAKE_INSTALL_PREFIX)
	staged_pkgconfig_dir=$destdir$(under_prefix "$install_prefix" "$(cache_value HU_INSTALL_PKGCONFIG_DIR)")
	staged_libdir=$destdir$(under_prefix "$install_prefix" "$(cache_value CMAKE_INSTALL_LIBDIR)")
	if [ -f "$staged_pkgconfig_dir/huddleup-token.pc" ] &&
		staged_pc_libdir=$(PKG_CONFIG_PATH=$staged_pkgconfig_dir pkg-config --variable=libdir huddleup-token) &&
		[ -f "$staged_pc_libdir/libhuddleup-token.a" ] &&
		[ "$(cd "$staged_pc_libdir" && pwd -P)" = "$(cd "$staged_libdir" && pwd -P)" ]; then
		echo "ok: the staged huddleup-token.pc points into DESTDIR"
	else
		fail "the staged huddleup-token.pc does not point to $staged_libdir"
	fi
else
	cat "$work_dir/destdir.log" >&2
	fail "DESTDIR=$destdir cmake --install exited with an error"
fi

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed" >&2
	exit 1
fi
echo "all install checks passed"
