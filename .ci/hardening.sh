#!/usr/bin/env bash
# Hardening stages: sanitizers, valgrind and fuzzing. Each stage prints its
# name, its counts and how it ended; the script exits 1 when any stage
# fails or finds anything.
#
#   asan      library, CLI and Lua module with AddressSanitizer and
#             UndefinedBehaviorSanitizer (build-asan): the C tests, the CLI
#             tests and the busted specs
#   tsan      test_threads with ThreadSanitizer (build-tsan)
#   valgrind  the C tests and the CLI tests under valgrind memcheck
#             (build-valgrind): zero errors and zero leaks
#   fuzz      each libFuzzer target for HU_FUZZ_SECONDS (build-fuzz)
#
# Usage: .ci/hardening.sh [STAGE...]      (default: all four, in that order)
# Environment variables:
#   HU_FUZZ_SECONDS           seconds per fuzz target (default 60, or no
#                             limit when HU_FUZZ_RUNS is set)
#   HU_FUZZ_RUNS              executions per fuzz target (default: no limit)
#   HU_FUZZ_TARGETS           fuzz targets to run (default: all five)
#   HU_DIFF_SECONDS           time cap of test_differential under ASan, in
#                             seconds (default 60)
#   HU_VALGRIND_DIFF_SECONDS  its time cap under valgrind (default 30)
#   HU_SHARED_DIR             shared test data (default ../shared)
# Needs the Debian packages that scripts/bootstrap.sh installs, among them
# clang, libclang-rt-14-dev, valgrind, lua5.4, lua-busted and python3.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared_dir=$(cd "${HU_SHARED_DIR:-$root/../shared}" 2>/dev/null && pwd) || {
	echo "hardening: shared test data not found at ${HU_SHARED_DIR:-$root/../shared}; set HU_SHARED_DIR" >&2
	exit 2
}
if [ -n "${HU_FUZZ_RUNS:-}" ]; then
	fuzz_seconds=${HU_FUZZ_SECONDS:-0} # 0: libFuzzer's "no time limit"
else
	fuzz_seconds=${HU_FUZZ_SECONDS:-60}
fi
jobs=$(nproc)

passed_stages=()
failed_stages=()
stage_name=""
stage_start=0
stage_failures=0

stage_begin() {
	stage_name=$1
	stage_start=$(date +%s)
	stage_failures=0
	echo
	echo "== $stage_name: start"
}

# Records one failed step of the current stage, with its reason.
stage_fail() {
	stage_failures=$((stage_failures + 1))
	echo "$stage_name: FAILED: $*"
}

stage_end() {
	local seconds=$(($(date +%s) - stage_start))

	if [ "$stage_failures" -eq 0 ]; then
		passed_stages+=("$stage_name")
		echo "== $stage_name: passed in $seconds s"
	else
		failed_stages+=("$stage_name")
		echo "== $stage_name: FAILED ($stage_failures failed steps) in $seconds s"
	fi
}

# Checks that each command exists; names the Debian package otherwise.
require() {
	local command package missing=0

	while [ $# -gt 0 ]; do
		command=$1
		package=$2
		shift 2
		if ! command -v "$command" >/dev/null; then
			stage_fail "$command not found (apt-get install $package)"
			missing=1
		fi
	done
	return $missing
}

# configure_and_build BUILD_DIR LOG "TARGET..." CMAKE_OPTION...
configure_and_build() {
	local dir=$1 log=$2 targets=$3
	shift 3

	mkdir -p "$(dirname "$log")"
	if ! cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DHU_WERROR=ON -DHU_SHARED_DIR="$shared_dir" "$@" >"$log" 2>&1; then
		tail -n 30 "$log"
		stage_fail "cmake configure of $dir (log: $log)"
		return 1
	fi
	# shellcheck disable=SC2086 # targets is a list of words
	if ! cmake --build "$dir" -j"$jobs" ${targets:+--target $targets} >>"$log" 2>&1; then
		grep -E 'error|Error' "$log" | head -n 30
		stage_fail "build in $dir (log: $log)"
		return 1
	fi
	echo "$stage_name: built in $dir"
}

# Prints "N passed, M failed" for a ctest log and fails the stage on any
# failure or when no test ran.
report_ctest() {
	local what=$1 log=$2 status=$3 line total failed

	line=$(grep -E '[0-9]+% tests passed' "$log" | tail -n 1)
	total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
	failed=$(sed -E 's/.*, ([0-9]+) tests? failed.*/\1/' <<<"$line")
	if [ -z "$line" ]; then
		tail -n 30 "$log"
		stage_fail "$what: no ctest summary (log: $log)"
		return
	fi
	echo "$stage_name $what: $((total - failed)) passed, $failed failed"
	if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$total" -eq 0 ]; then
		grep -E 'Failed|\*\*\*|ERROR|SUMMARY|runtime error' "$log" | head -n 40
		stage_fail "$what (log: $log)"
	fi
}

# ---------------------------------------------------------------------------
# AddressSanitizer and UndefinedBehaviorSanitizer
# ---------------------------------------------------------------------------

stage_asan() {
	local dir=$root/build-asan logs=$root/build-asan/hardening-logs
	local asan_runtime status line

	stage_begin asan
	require gcc build-essential lua5.4 lua5.4 busted lua-busted stdbuf coreutils || { stage_end; return; }
	configure_and_build "$dir" "$logs/build.log" "" -DHU_SANITIZE=ON || { stage_end; return; }

	export ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_string_checks=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	ctest --test-dir "$dir" -L 'unit|cli' --output-on-failure >"$logs/ctest.log" 2>&1
	report_ctest "C and CLI tests" "$logs/ctest.log" $?

	# The differential check on its own, so that its table is shown.
	HU_DIFF_SECONDS=${HU_DIFF_SECONDS:-60} "$dir/tests/test_differential" \
		>"$logs/test_differential.log" 2>&1
	status=$?
	sed "s/^/$stage_name /" "$logs/test_differential.log" | head -n 60
	[ "$status" -eq 0 ] || stage_fail "test_differential (log: $logs/test_differential.log)"

	# lua5.4 is not built with AddressSanitizer, so its runtime must be
	# loaded first. dlclose() is disabled (see .ci/keep_modules_loaded.c)
	# and stacks are unwound fully, so that the suppressions can match.
	asan_runtime=$(gcc -print-file-name=libasan.so)
	if ! gcc -shared -fPIC -O2 -o "$dir/keep_modules_loaded.so" \
		"$root/.ci/keep_modules_loaded.c" 2>"$logs/shim.log"; then
		cat "$logs/shim.log"
		stage_fail "cannot build .ci/keep_modules_loaded.c"
		stage_end
		return
	fi
	(
		cd "$root" &&
		ASAN_OPTIONS=$ASAN_OPTIONS:fast_unwind_on_malloc=0 \
		LSAN_OPTIONS=suppressions=$root/.ci/lsan-lua.supp:print_suppressions=1 \
		LD_PRELOAD="$asan_runtime $dir/keep_modules_loaded.so" \
		LUA_CPATH_5_4="$dir/lua/?.so;;" HU_SHARED_DIR="$shared_dir" \
		stdbuf -oL busted --lua=lua5.4 -o utfTerminal spec
	) >"$logs/busted.log" 2>&1
	status=$?
	line=$(grep -E '[0-9]+ successes? / [0-9]+ failures? / [0-9]+ errors?' "$logs/busted.log" | tail -n 1)
	echo "$stage_name busted specs: ${line:-no summary}"
	if [ "$status" -ne 0 ] || [ -z "$line" ]; then
		grep -E -A12 'Failure|Error ->|ERROR|SUMMARY|runtime error' "$logs/busted.log" | head -n 60
		stage_fail "busted specs, exit status $status (log: $logs/busted.log)"
	fi
	unset ASAN_OPTIONS UBSAN_OPTIONS
	stage_end
}

# ---------------------------------------------------------------------------
# ThreadSanitizer
# ---------------------------------------------------------------------------

stage_tsan() {
	local dir=$root/build-tsan logs=$root/build-tsan/hardening-logs run runs=3 reports=0

	stage_begin tsan
	require gcc build-essential || { stage_end; return; }
	configure_and_build "$dir" "$logs/build.log" test_threads -DHU_TSAN=ON \
		-DHU_BUILD_LUA=OFF -DHU_BUILD_CLI=OFF || { stage_end; return; }

	# Several runs, because each run meets other thread interleavings.
	for run in $(seq 1 $runs); do
		if ! TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
			"$dir/tests/test_threads" >"$logs/test_threads.$run.log" 2>&1; then
			reports=$((reports + 1))
			grep -E -A20 'WARNING: ThreadSanitizer|check failed' "$logs/test_threads.$run.log" | head -n 40
		fi
	done
	echo "$stage_name test_threads: $runs runs, $reports with a report or failure"
	grep -E 'verifications' "$logs/test_threads.1.log" | sed "s/^/$stage_name /"
	[ "$reports" -eq 0 ] || stage_fail "test_threads (logs: $logs)"
	stage_end
}

# ---------------------------------------------------------------------------
# valgrind memcheck
# ---------------------------------------------------------------------------

valgrind_options=(
	--leak-check=full --show-leak-kinds=definite,indirect,possible
	--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99
	--num-callers=30
)

# Sums "ERROR SUMMARY: N errors" over valgrind logs.
count_valgrind_errors() {
	cat "$@" 2>/dev/null | sed -n -E 's/.*ERROR SUMMARY: ([0-9]+) errors.*/\1/p' |
		awk '{ total += $1 } END { print total + 0 }'
}

stage_valgrind() {
	local dir=$root/build-valgrind logs=$root/build-valgrind/hardening-logs
	local tests test status errors checks wrapper cli_logs processes line script

	stage_begin valgrind
	require valgrind valgrind || { stage_end; return; }
	configure_and_build "$dir" "$logs/build.log" "" -DHU_BUILD_LUA=OFF || { stage_end; return; }

	tests=$(ctest --test-dir "$dir" -N -L 'unit|differential' | sed -n -E 's/^ *Test +#[0-9]+: +([A-Za-z0-9_]+)$/\1/p')
	if [ -z "$tests" ]; then
		stage_fail "no C tests found in $dir"
	fi
	for test in $tests; do
		rm -f "$logs/$test.valgrind.log"
		HU_DIFF_SECONDS=${HU_VALGRIND_DIFF_SECONDS:-30} \
			valgrind "${valgrind_options[@]}" --log-file="$logs/$test.valgrind.log" \
			"$dir/tests/$test" "$shared_dir" >"$logs/$test.log" 2>&1
		status=$?
		errors=$(count_valgrind_errors "$logs/$test.valgrind.log")
		checks=$(grep -E "^$test: [0-9]+ checks" "$logs/$test.log" | tail -n 1)
		echo "$stage_name $test: $errors errors and leaks (${checks:-no summary})"
		grep -E "^$test: [0-9]+ (cases|threads)" "$logs/$test.log" | sed "s/^/$stage_name   /"
		if [ "$status" -ne 0 ] || [ "$errors" -ne 0 ]; then
			grep -E -B2 -A20 'Invalid|uninitialised|definitely|indirectly|possibly|check failed' \
				"$logs/$test.valgrind.log" "$logs/$test.log" | head -n 60
			stage_fail "$test, exit status $status (logs: $logs/$test*.log)"
		fi
	done

	# The CLI test scripts, with every command run under valgrind through a
	# wrapper that writes one log per process.
	wrapper=$dir/huddleup-token-valgrind
	{
		echo '#!/bin/sh'
		printf 'exec valgrind'
		printf ' %q' "${valgrind_options[@]}"
		printf ' "--log-file=${HU_VALGRIND_LOG_DIR:?}/cli.%%p.log"'
		printf ' %q' "$dir/huddleup-token"
		echo ' "$@"'
	} >"$wrapper"
	chmod +x "$wrapper"
	for script in "$root"/tests/cli/test_cli*.sh; do
		test=$(basename "$script" .sh)
		cli_logs=$logs/$test
		rm -rf "$cli_logs"
		mkdir -p "$cli_logs"
		HU_VALGRIND_LOG_DIR=$cli_logs bash "$script" "$wrapper" >"$logs/$test.log" 2>&1
		status=$?
		processes=$(find "$cli_logs" -name 'cli.*.log' | wc -l)
		errors=$(count_valgrind_errors "$cli_logs"/cli.*.log)
		line=$(grep -E "^$test: [0-9]+ checks" "$logs/$test.log" | tail -n 1)
		echo "$stage_name $test: $processes CLI runs, $errors errors and leaks (${line:-no summary})"
		if [ "$status" -ne 0 ] || [ "$errors" -ne 0 ] || [ "$processes" -eq 0 ]; then
			grep -l -E 'ERROR SUMMARY: [1-9]' "$cli_logs"/cli.*.log | head -n 3 | xargs -r cat | head -n 60
			grep -E 'FAIL' "$logs/$test.log" | head -n 20
			stage_fail "$test under valgrind, exit status $status (logs: $cli_logs)"
		fi
	done
	stage_end
}

# ---------------------------------------------------------------------------
# libFuzzer
# ---------------------------------------------------------------------------

# Largest input per target: tokens above the default 8192-byte limit,
# issuer requests with several fields of up to 1024 bytes, and key sets of
# several RSA keys.
fuzz_max_len() {
	case $1 in
	fuzz_verify | fuzz_claims) echo 12000 ;;
	fuzz_issue) echo 9000 ;;
	fuzz_jwks) echo 16384 ;;
	*) echo 4096 ;;
	esac
}

stage_fuzz() {
	local dir=$root/build-fuzz logs=$root/build-fuzz/hardening-logs
	local target short log status runs seconds findings artifacts seed

	stage_begin fuzz
	require clang "clang libclang-rt-14-dev" python3 python3 || { stage_end; return; }
	configure_and_build "$dir" "$logs/build.log" "fuzzers test_differential" \
		-DCMAKE_C_COMPILER=clang -DHU_FUZZ=ON -DBUILD_TESTING=ON -DHU_BUILD_LUA=OFF \
		-DHU_BUILD_CLI=OFF ||
		{ stage_end; return; }

	# Seeds: the shared token cases, and the first cases that the
	# differential check generates (tokens, and header and payload texts).
	if ! python3 "$root/fuzz/make_corpus.py" "$shared_dir/cases/tokens.json" \
		"$dir/corpus" | sed "s/^/$stage_name /"; then
		stage_fail "seed corpus from the shared token cases"
	fi
	if HU_DIFF_CORPUS_DIR="$dir/corpus" HU_DIFF_CASES=400 \
		"$dir/tests/test_differential" >"$logs/differential-seeds.log" 2>&1; then
		echo "$stage_name seeds from test_differential: $(find "$dir/corpus" -name 'differential-*' | wc -l) files"
	else
		tail -n 20 "$logs/differential-seeds.log"
		stage_fail "seed corpus from test_differential (log: $logs/differential-seeds.log)"
	fi

	for target in ${HU_FUZZ_TARGETS:-fuzz_verify fuzz_b64url fuzz_claims fuzz_issue fuzz_jwks}; do
		short=${target#fuzz_}
		log=$logs/$target.log
		mkdir -p "$dir/artifacts" "$dir/corpus/$target"
		rm -f "$dir/artifacts/$target-"*
		ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			"$dir/fuzz/$target" -max_total_time="$fuzz_seconds" ${HU_FUZZ_RUNS:+-runs="$HU_FUZZ_RUNS"} \
			-max_len="$(fuzz_max_len "$target")" -timeout=10 -rss_limit_mb=2048 \
			-dict="$root/fuzz/jwt.dict" -print_final_stats=1 \
			-artifact_prefix="$dir/artifacts/$target-" \
			"$dir/corpus/$target" "$root/fuzz/corpus/$target" >"$log" 2>&1
		status=$?
		runs=$(sed -n -E 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\1/p' "$log" | tail -n 1)
		seconds=$(sed -n -E 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\2/p' "$log" | tail -n 1)
		[ -n "$runs" ] || runs=$(sed -n -E 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -n 1)
		seed=$(sed -n -E 's/^INFO: Seed: ([0-9]+)/\1/p' "$log" | head -n 1)
		artifacts=$(find "$dir/artifacts" -name "$target-*" | wc -l)
		findings=$artifacts
		if [ "$status" -ne 0 ] && [ "$findings" -eq 0 ]; then
			findings=1 # a failure that left no input, for example at start-up
		fi
		echo "$stage_name $short: ${runs:-0} runs in ${seconds:-?} s, $findings findings (seed ${seed:-?})"
		if [ "$findings" -ne 0 ]; then
			grep -E -A25 'fuzz property failed|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' "$log" | head -n 50
			find "$dir/artifacts" -name "$target-*" -exec echo "  input: {}" \;
			stage_fail "$target, exit status $status (log: $log)"
		fi
	done
	stage_end
}

# ---------------------------------------------------------------------------

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(asan tsan valgrind fuzz)
for stage in "${stages[@]}"; do
	case $stage in
	asan | tsan | valgrind | fuzz) "stage_$stage" ;;
	*)
		echo "hardening: unknown stage '$stage' (asan, tsan, valgrind or fuzz)" >&2
		exit 2
		;;
	esac
done

echo
echo "hardening: passed: ${passed_stages[*]:-none}; failed: ${failed_stages[*]:-none}"
echo "hardening: ${#passed_stages[@]} passed, ${#failed_stages[@]} failed"
[ ${#failed_stages[@]} -eq 0 ]
