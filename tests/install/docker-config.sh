#!/usr/bin/env bash
# Tests the docker-jitsi-meet recipe in deploy/docker/ as far as a machine
# without Docker allows:
#   - huddleup.env sets what the recipe needs, names modules that exist in
#     lua/, and carries no secret,
#   - the compose override mounts nothing and points at the Dockerfile, and
#     every file the Dockerfile copies exists,
#   - build-module.sh, the Dockerfile's build step, builds and installs the
#     modules at the image's paths (below a temporary DESTDIR),
#   - the Prosody options that Jitsi's image writes for these .env values,
#     with plugin_paths and the Lua C module path mapped into that DESTDIR,
#     pass `prosodyctl check config`, and Prosody loads both modules.
#
# Usage: tests/install/docker-config.sh SOURCE_DIR
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 SOURCE_DIR" >&2
	exit 2
fi
source_dir=$(cd "$1" && pwd)
docker_dir=$source_dir/deploy/docker

failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

work_dir=$(mktemp -d "${TMPDIR:-/tmp}/hu-docker.XXXXXX")
# shellcheck source=tests/install/prosody-lib.sh
. "$source_dir/tests/install/prosody-lib.sh"
cleanup() {
	stop_prosody
	rm -rf "$work_dir"
}
trap cleanup EXIT

echo "== huddleup.env"
declare -A env_value
while IFS= read -r line; do
	case $line in
	'' | '#'*) continue ;;
	*=*) env_value[${line%%=*}]=${line#*=} ;;
	*) fail "huddleup.env: not a NAME=VALUE line: $line" ;;
	esac
done <"$docker_dir/huddleup.env"

expect_env() {
	if [ "${env_value[$1]-unset}" = "$2" ]; then
		echo "ok: $1=$2"
	else
		fail "huddleup.env sets $1=${env_value[$1]-(unset)}, expected $1=$2"
	fi
}
expect_env ENABLE_AUTH 1
expect_env AUTH_TYPE jwt
expect_env JWT_ALLOW_EMPTY 0
expect_env ENABLE_AUTO_OWNER 0
expect_env JWT_APP_SECRET ''

auth_type=${env_value[JWT_AUTH_TYPE]-}
muc_module=${env_value[JWT_TOKEN_AUTH_MODULE]-}
app_id=${env_value[JWT_APP_ID]-}
if [ -f "$source_dir/lua/mod_auth_$auth_type.lua" ]; then
	echo "ok: JWT_AUTH_TYPE=$auth_type selects lua/mod_auth_$auth_type.lua"
else
	fail "JWT_AUTH_TYPE=$auth_type names no lua/mod_auth_$auth_type.lua"
fi
if [ -f "$source_dir/lua/mod_$muc_module.lua" ]; then
	echo "ok: JWT_TOKEN_AUTH_MODULE=$muc_module selects lua/mod_$muc_module.lua"
else
	fail "JWT_TOKEN_AUTH_MODULE=$muc_module names no lua/mod_$muc_module.lua"
fi
if [ -z "$app_id" ]; then
	fail "huddleup.env sets no JWT_APP_ID"
fi

echo "== docker-compose.override.yml and Dockerfile"
override=$docker_dir/docker-compose.override.yml
if grep -qE '^[[:space:]]*(volumes|secrets|env_file):' "$override"; then
	fail "docker-compose.override.yml mounts or reads files: $(grep -E 'volumes|secrets|env_file' "$override")"
else
	echo "ok: docker-compose.override.yml mounts nothing"
fi
dockerfile_path=$(sed -n 's/^[[:space:]]*dockerfile:[[:space:]]*//p' "$override")
if [ "$dockerfile_path" = "deploy/docker/Dockerfile" ] && [ -f "$source_dir/$dockerfile_path" ]; then
	echo "ok: the override builds $dockerfile_path"
else
	fail "the override's dockerfile '$dockerfile_path' is not deploy/docker/Dockerfile"
fi
if python3 -c 'import yaml' 2>/dev/null; then
	if python3 -c 'import sys, yaml; yaml.safe_load(open(sys.argv[1]))' "$override"; then
		echo "ok: docker-compose.override.yml is valid YAML"
	else
		fail "docker-compose.override.yml is not valid YAML"
	fi
fi
copy_sources=$(sed -n 's/^COPY[[:space:]]\{1,\}\([^-][^[:space:]]*\)[[:space:]].*/\1/p' "$docker_dir/Dockerfile")
for copied in $copy_sources; do
	if [ -e "$source_dir/$copied" ]; then
		echo "ok: the Dockerfile copies $copied"
	else
		fail "the Dockerfile copies $copied, which does not exist"
	fi
done

echo "== build-module.sh into $work_dir/root"
root=$work_dir/root
if sh "$docker_dir/build-module.sh" "$source_dir" "$work_dir/build" "$root" >"$work_dir/build.log" 2>&1; then
	echo "ok: build-module.sh exits 0"
else
	cat "$work_dir/build.log" >&2
	fail "build-module.sh exited with an error (log above)"
fi
if [ -f "$root/usr/local/lib/lua/5.4/huddleup/token.so" ]; then
	echo "ok: /usr/local/lib/lua/5.4/huddleup/token.so"
else
	fail "build-module.sh did not install /usr/local/lib/lua/5.4/huddleup/token.so"
fi
for source_module in "$source_dir"/lua/mod_*.lua; do
	if [ -f "$root/prosody-plugins/$(basename "$source_module")" ]; then
		echo "ok: /prosody-plugins/$(basename "$source_module")"
	else
		fail "build-module.sh did not install /prosody-plugins/$(basename "$source_module")"
	fi
done

echo "== Prosody options for these .env values"
# For AUTH_TYPE=jwt Jitsi's image writes these options: authentication,
# app_id, app_secret and allow_empty_token into the VirtualHost of
# XMPP_DOMAIN (default meet.jitsi), and JWT_TOKEN_AUTH_MODULE into
# modules_enabled of the MUC component XMPP_MUC_DOMAIN (muc.meet.jitsi).
write_prosody_global_config meet.jitsi
secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
allow_empty=false
if [ "${env_value[JWT_ALLOW_EMPTY]-0}" = 1 ]; then
	allow_empty=true
fi
cat >"$work_dir/etc/conf.d/jitsi-meet.cfg.lua" <<EOF
plugin_paths = { "$root/prosody-plugins" }

VirtualHost "meet.jitsi"
    authentication = "$auth_type"
    app_id = "$app_id"
    app_secret = "$secret"
    allow_empty_token = $allow_empty

Component "muc.meet.jitsi" "muc"
    modules_enabled = {
        "$muc_module";
    }
EOF
check_prosody_config

if start_prosody "$root/usr/local/lib/lua/5.4/?.so;;"; then
	expect_loaded_module meet.jitsi "auth_$auth_type"
	expect_loaded_module muc.meet.jitsi "$muc_module"
else
	fail "Prosody did not start: $(cat "$work_dir/prosody.out")"
fi
stop_prosody
expect_no_prosody_errors

if [ "$failures" -ne 0 ]; then
	echo "Prosody's log:" >&2
	cat "$work_dir/prosody.log" >&2 || true
	echo "$failures check(s) failed" >&2
	exit 1
fi
echo "all docker-jitsi-meet recipe checks passed"
