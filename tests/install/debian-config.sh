#!/usr/bin/env bash
# Tests the Debian recipe in deploy/debian/: assembles a Prosody config from
# huddleup-token.cfg.lua in a temporary folder (with the plugin folder of a
# `cmake --install` there and a generated secret), and checks that
#   - deploy/debian/check-config.sh accepts it, and rejects the snippet as
#     shipped and a stock jitsi-meet site config,
#   - `prosodyctl check config` finds no problem in it,
#   - Prosody started on 127.0.0.1 with it loads both modules and the
#     installed huddleup.token, and logs no error.
#
# Usage: tests/install/debian-config.sh SOURCE_DIR BUILD_DIR
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 SOURCE_DIR BUILD_DIR" >&2
	exit 2
fi
source_dir=$(cd "$1" && pwd)
build_dir=$(cd "$2" && pwd)
snippet=$source_dir/deploy/debian/huddleup-token.cfg.lua
check_config=$source_dir/deploy/debian/check-config.sh

failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

work_dir=$(mktemp -d "${TMPDIR:-/tmp}/hu-debian.XXXXXX")
# shellcheck source=tests/install/prosody-lib.sh
. "$source_dir/tests/install/prosody-lib.sh"
cleanup() {
	stop_prosody
	rm -rf "$work_dir"
}
trap cleanup EXIT

echo "== install the Lua module and the Prosody modules into $work_dir/prefix"
cmake --install "$build_dir" --prefix "$work_dir/prefix" --component lua >"$work_dir/install.log" 2>&1 || {
	cat "$work_dir/install.log" >&2
	echo "FAIL: cmake --install --component lua exited with an error" >&2
	exit 1
}
plugin_dir=$(dirname "$(find "$work_dir/prefix" -name mod_auth_huddleup_token.lua | head -n 1)")
module_file=$(find "$work_dir/prefix" -path '*/huddleup/token.so' | head -n 1)
if [ ! -f "$plugin_dir/mod_auth_huddleup_token.lua" ] || [ -z "$module_file" ]; then
	echo "FAIL: the lua component did not install the modules" >&2
	exit 1
fi
lua_cpath="$(dirname "$(dirname "$module_file")")/?.so;;"

echo "== assemble the config"
write_prosody_global_config meet.example.com
secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
site_config=$work_dir/etc/conf.d/meet.example.com.cfg.lua
sed -e "s|/usr/local/share/huddleup-token/prosody-modules|$plugin_dir|" \
	-e "s|\"CHANGE-ME\"|\"$secret\"|" \
	"$snippet" >"$site_config"
if grep -q 'CHANGE-ME' "$site_config" || ! grep -q "$plugin_dir" "$site_config"; then
	fail "the snippet no longer has the plugin folder and the app_secret placeholder this test replaces"
fi

echo "== deploy/debian/check-config.sh"
if output=$(sh "$check_config" --jicofo "$source_dir/deploy/debian/jicofo.conf" "$site_config"); then
	echo "ok: the assembled config passes: $output"
else
	fail "check-config.sh rejects the assembled config: $output"
fi

status=0
output=$(sh "$check_config" "$snippet") || status=$?
if [ "$status" -eq 1 ] && grep -q 'placeholder CHANGE-ME' <<<"$output"; then
	echo "ok: the snippet as shipped is rejected for its placeholder secret"
else
	fail "check-config.sh did not reject the placeholder secret (exit $status): $output"
fi

# A stock site config of a Debian jitsi-meet install, reduced to the lines
# the check looks at, with jitsi-meet-tokens' module enabled.
cat >"$work_dir/stock.cfg.lua" <<'EOF'
plugin_paths = { "/usr/share/jitsi-meet/prosody-plugins/" }
VirtualHost "meet.example.com"
    authentication = "jitsi-anonymous" -- do not delete me
Component "conference.meet.example.com" "muc"
    modules_enabled = {
        "muc_meeting_id";
        "token_verification";
    }
EOF
echo 'jicofo { conference { } }' >"$work_dir/jicofo.conf"
status=0
output=$(sh "$check_config" --jicofo "$work_dir/jicofo.conf" "$work_dir/stock.cfg.lua") || status=$?
if [ "$status" -eq 1 ]; then
	echo "ok: a stock site config is rejected"
else
	fail "check-config.sh exited $status on a stock site config, expected 1"
fi
for expected in 'missing: authentication = "huddleup_token"' 'missing: app_id' 'missing: app_secret' \
	'missing: allow_empty_token' 'missing: "huddleup_moderation"' 'wrong: "token_verification"' \
	'missing: a plugin_paths folder' 'missing: enable-auto-owner = false'; do
	if grep -qF -- "$expected" <<<"$output"; then
		echo "ok: reports $expected"
	else
		fail "check-config.sh does not report '$expected' for a stock site config"
	fi
done

echo "== prosodyctl check config"
check_prosody_config

echo "== start Prosody with the assembled config"
if start_prosody "$lua_cpath"; then
	expect_loaded_module meet.example.com auth_huddleup_token
	expect_loaded_module conference.meet.example.com huddleup_moderation
else
	fail "Prosody did not start: $(cat "$work_dir/prosody.out")"
fi
stop_prosody

expected_version=$(sed -n 's/^project([^)]*VERSION \([0-9][0-9.]*\).*/\1/p' "$source_dir/CMakeLists.txt")
if grep -q "auth_huddleup_token.*$expected_version" "$work_dir/prosody.log"; then
	echo "ok: the load log line of auth_huddleup_token names version $expected_version"
else
	fail "no log line of auth_huddleup_token names version $expected_version"
fi
expect_no_prosody_errors

if [ "$failures" -ne 0 ]; then
	echo "Prosody's log:" >&2
	cat "$work_dir/prosody.log" >&2 || true
	echo "$failures check(s) failed" >&2
	exit 1
fi
echo "all Debian recipe checks passed"
