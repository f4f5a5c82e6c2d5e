#!/bin/sh
# Checks Prosody config files of a Debian jitsi-meet install for the lines
# huddleup-token needs (see huddleup-token.cfg.lua beside this script), and
# optionally jicofo.conf for enable-auto-owner = false. Prints each missing
# or wrong line.
#
# Usage: check-config.sh [--jicofo JICOFO_CONF] PROSODY_CONFIG...
#   for example: check-config.sh --jicofo /etc/jitsi/jicofo/jicofo.conf \
#                  /etc/prosody/conf.avail/meet.example.com.cfg.lua
# Give every file that sets plugin_paths (the site file, and
# /etc/prosody/prosody.cfg.lua when it sets them there).
#
# Exit status: 0 when everything is there, 1 when something is missing,
# 2 on a usage error or an unreadable file.
#
# The checks read the files line by line. They find the options, not the
# section each one is in, and a value that Prosody would compute at load
# time (ENV_ variables, Lua expressions) counts as present but unchecked.
# NOTE: plugin_paths folders with spaces in their names are not supported.
set -u

usage() {
	echo "usage: $0 [--jicofo JICOFO_CONF] PROSODY_CONFIG..." >&2
	exit 2
}

jicofo_conf=
while [ $# -gt 0 ]; do
	case $1 in
	--jicofo)
		[ $# -ge 2 ] || usage
		jicofo_conf=$2
		shift 2
		;;
	-h | --help)
		sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"
		exit 0
		;;
	--*) usage ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || usage

for file in "$@" $jicofo_conf; do
	if [ ! -r "$file" ]; then
		echo "check-config: cannot read $file" >&2
		exit 2
	fi
done

problems=0
missing() {
	echo "missing: $*"
	problems=$((problems + 1))
}
wrong() {
	echo "wrong: $*"
	problems=$((problems + 1))
}

# The Prosody files without Lua comments ("--" to the end of the line).
config=$(cat "$@" | sed 's/--.*$//')

# Prints the value of the first "name = value" line, without quotes and
# the trailing ";" or ",".
option_value() {
	printf '%s\n' "$config" |
		sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*\(.*\)$/\1/p" |
		head -n 1 |
		sed 's/[[:space:]]*[;,]\{0,1\}[[:space:]]*$//; s/^"\(.*\)"$/\1/; s/^'"'"'\(.*\)'"'"'$/\1/'
}

has_option() {
	printf '%s\n' "$config" | grep -q "^[[:space:]]*$1[[:space:]]*="
}

# VirtualHost: the token authentication and its settings.
authentication=$(option_value authentication)
if ! printf '%s\n' "$config" | grep -q '^[[:space:]]*authentication[[:space:]]*=[[:space:]]*["'"'"']huddleup_token["'"'"']'; then
	missing "authentication = \"huddleup_token\" in the Jitsi VirtualHost (found: ${authentication:-none})"
fi

if ! has_option app_id; then
	missing "app_id = \"...\" in the Jitsi VirtualHost: the \"iss\" of HuddleUp's tokens (HU_JITSI_JWT_APP_ID)"
fi

algorithm=$(option_value huddleup_token_algorithm)
case ${algorithm:-HS256} in
HS*)
	secret=$(option_value app_secret)
	if ! has_option app_secret; then
		missing "app_secret = \"...\" in the Jitsi VirtualHost: HuddleUp's HU_JITSI_JWT_SECRET"
	elif [ "$secret" = "CHANGE-ME" ]; then
		wrong "app_secret is still the placeholder CHANGE-ME; set it to HU_JITSI_JWT_SECRET (openssl rand -hex 32)"
	elif printf '%s' "$secret" | grep -q '^[A-Za-z0-9._~+/=-]*$' && [ ${#secret} -lt 32 ]; then
		wrong "app_secret has ${#secret} characters; the verifier needs at least 32 bytes"
	fi
	;;
*)
	if ! has_option huddleup_token_public_key_file; then
		missing "huddleup_token_public_key_file = \"...\" for huddleup_token_algorithm = \"$algorithm\""
	fi
	;;
esac

allow_empty=$(option_value allow_empty_token)
if [ -z "$allow_empty" ]; then
	missing "allow_empty_token = false in the Jitsi VirtualHost"
elif [ "$allow_empty" != "false" ]; then
	wrong "allow_empty_token = $allow_empty lets users without a token log in as guests; set it to false"
fi

# MUC component: the moderation module, and not Jitsi's token_verification.
if ! printf '%s\n' "$config" | grep -q '["'"'"']huddleup_moderation["'"'"']'; then
	missing "\"huddleup_moderation\" in modules_enabled of Component \"conference.DOMAIN\" \"muc\""
fi
if printf '%s\n' "$config" | grep -q '["'"'"']token_verification["'"'"']'; then
	wrong "\"token_verification\" is enabled; remove it from the conference component: huddleup_moderation checks the room"
fi

# Global: a plugin folder that contains the Prosody modules.
plugin_dirs=$(printf '%s\n' "$config" |
	awk '/^[[:space:]]*plugin_paths[[:space:]]*=/ { inside = 1 } inside { print } inside && /}/ { inside = 0 }' |
	grep -o '"[^"]*"' | tr -d '"')
found_plugin_dir=
for dir in $plugin_dirs; do
	if [ -f "$dir/mod_auth_huddleup_token.lua" ] && [ -f "$dir/mod_huddleup_moderation.lua" ]; then
		found_plugin_dir=$dir
	fi
done
if [ -z "$plugin_dirs" ]; then
	missing "plugin_paths = { ... } with the folder of mod_auth_huddleup_token.lua"
elif [ -z "$found_plugin_dir" ]; then
	missing "a plugin_paths folder that contains mod_auth_huddleup_token.lua and mod_huddleup_moderation.lua (checked: $(printf '%s' "$plugin_dirs" | tr '\n' ' '))"
fi

# jicofo: no automatic owner.
if [ -n "$jicofo_conf" ]; then
	if ! sed 's/#.*$//; s,//.*$,,' "$jicofo_conf" |
		grep -q 'enable-auto-owner[[:space:]]*[=:][[:space:]]*false'; then
		missing "enable-auto-owner = false in jicofo { conference { ... } } of $jicofo_conf"
	fi
fi

if [ "$problems" -ne 0 ]; then
	echo "$problems problem(s) found; deploy/debian/huddleup-token.cfg.lua shows the lines"
	exit 1
fi
echo "ok: the huddleup-token settings are all there"
exit 0
