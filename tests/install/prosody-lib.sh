# shellcheck shell=bash disable=SC2154 # work_dir is set by the sourcing script.
# Shell functions shared by the deploy tests: a loopback-only Prosody 0.12
# started from a config folder, and the list of modules each host loaded.
# Source it from bash. It expects a fail() function and a work_dir variable.

prosody_pid=

# Writes $work_dir/etc/prosody.cfg.lua: the global part of a test server
# on 127.0.0.1 with free ports, data in $work_dir/data, and
# Include "conf.d/*.cfg.lua" for the config under test. Sets http_port.
write_prosody_global_config() {
	local default_host=$1 c2s_port

	mkdir -p "$work_dir/etc/conf.d" "$work_dir/etc/certs" "$work_dir/data"
	read -r c2s_port http_port < <(python3 -c '
import socket
sockets = [socket.socket() for _ in range(2)]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in sockets))
')
	cat >"$work_dir/etc/prosody.cfg.lua" <<EOF
admins = { }
modules_enabled = { "disco"; "saslauth"; "ping"; "bosh"; "websocket"; "posix"; "admin_shell" }
modules_disabled = { "s2s" }
run_as_root = true
pidfile = "$work_dir/data/prosody.pid"
data_path = "$work_dir/data"
admin_socket = "$work_dir/data/prosody.sock"
certificates = "$work_dir/etc/certs"
interfaces = { "127.0.0.1" }
c2s_interfaces = { "127.0.0.1" }
c2s_ports = { $c2s_port }
http_interfaces = { "127.0.0.1" }
http_ports = { $http_port }
https_ports = { }
s2s_ports = { }
component_ports = { }
use_ipv6 = false
c2s_require_encryption = false
s2s_secure_auth = false
consider_bosh_secure = true
consider_websocket_secure = true
http_default_host = "$default_host"
log = { info = "$work_dir/prosody.log" }
Include "conf.d/*.cfg.lua"
EOF
}

# Runs `prosodyctl check config` and fails unless it exits 0 (it exits 2
# on warnings).
check_prosody_config() {
	local output status=0

	output=$(prosodyctl --config "$work_dir/etc/prosody.cfg.lua" check config 2>&1) || status=$?
	if [ "$status" -eq 0 ]; then
		echo "ok: prosodyctl check config exits 0"
	else
		fail "prosodyctl check config exited $status: $output"
	fi
}

# Starts Prosody in the foreground with LUA_CPATH_5_4=$1 and waits up to
# 10 s for BOSH to respond. Returns 1 when it does not.
start_prosody() {
	local lua_cpath=$1

	LUA_CPATH_5_4=$lua_cpath prosody -F --config "$work_dir/etc/prosody.cfg.lua" \
		>"$work_dir/prosody.out" 2>&1 &
	prosody_pid=$!
	for _ in $(seq 1 100); do
		if ! kill -0 "$prosody_pid" 2>/dev/null; then
			return 1
		fi
		if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
			"http://127.0.0.1:$http_port/http-bind" 2>/dev/null; then
			echo "ok: Prosody answers on 127.0.0.1:$http_port"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# Stops the Prosody that start_prosody started: SIGTERM, then SIGKILL
# after 5 s.
stop_prosody() {
	if [ -z "$prosody_pid" ]; then
		return 0
	fi
	kill -TERM "$prosody_pid" 2>/dev/null || true
	for _ in $(seq 1 50); do
		kill -0 "$prosody_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$prosody_pid" 2>/dev/null || true
	wait "$prosody_pid" 2>/dev/null || true
	prosody_pid=
}

# Fails unless the running Prosody has loaded module $2 on host $1, as the
# admin shell's module:list() reports it.
expect_loaded_module() {
	local host=$1 module=$2 modules

	modules=$(prosodyctl --config "$work_dir/etc/prosody.cfg.lua" shell "module:list('$host')" 2>&1) || true
	if grep -qx "[[:space:]]*$module" <<<"$modules"; then
		echo "ok: $host loaded $module"
	else
		fail "$host did not load $module: $modules"
	fi
}

# Fails when Prosody's log or output has a line at level error.
expect_no_prosody_errors() {
	local errors

	if errors=$(cat "$work_dir/prosody.log" "$work_dir/prosody.out" 2>/dev/null |
		grep -E '[[:space:]]error[[:space:]]'); then
		fail "Prosody logged errors: $errors"
	else
		echo "ok: no error in Prosody's log"
	fi
}
