#!/usr/bin/env bash
# Checks docs/huddleup-token.1: man and groff render it without warnings,
# and it covers every option and environment variable that the CLI's --help
# texts list and every rejection reason of huddleup/token.h.
#
# Usage: tests/install/man.sh SOURCE_DIR CLI
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 SOURCE_DIR CLI" >&2
	exit 2
fi
source_dir=$(cd "$1" && pwd)
cli=$2
page=$source_dir/docs/huddleup-token.1
header=$source_dir/csrc/include/huddleup/token.h

failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

echo "== rendering"
warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) || fail "man -l exited with an error"
if [ -n "$warnings" ]; then
	fail "man --warnings -l reports: $warnings"
else
	echo "ok: man --warnings -l renders without warnings"
fi
warnings=$(groff -ww -z -man "$page" 2>&1) || fail "groff exited with an error"
if [ -n "$warnings" ]; then
	fail "groff -ww reports: $warnings"
else
	echo "ok: groff -ww renders without warnings"
fi

# In roff source a hyphen in an option name is written \-.
page_has() {
	local roff=${1//-/\\-}
	grep -qF -- "$roff" "$page"
}

echo "== options of the CLI's --help texts"
help_text=$("$cli" --help)
for command in issue url verify; do
	help_text+=$'\n'$("$cli" "$command" --help)
done
options=$(grep -oE -- '--[a-z][a-z-]*' <<<"$help_text" | sort -u)
if [ -z "$options" ]; then
	fail "no options found in the --help texts of $cli"
fi
for option in $options; do
	if page_has "$option"; then
		echo "ok: $option"
	else
		fail "the man page does not mention $option"
	fi
done

echo "== environment variables"
variables=$(grep -oE 'HU_[A-Z_]+' <<<"$help_text" | sort -u)
for variable in $variables; do
	if grep -q "^\.B $variable\$" "$page"; then
		echo "ok: $variable"
	else
		fail "the man page has no entry for $variable"
	fi
done

echo "== rejection reasons"
# The reasons are the comments of HU_ERR_INVALID_ENCODING to
# HU_ERR_KEY_UNAVAILABLE, the statuses that reject a token.
reasons=$(sed -n '/HU_ERR_INVALID_ENCODING,/,/HU_ERR_KEY_UNAVAILABLE,/s/.*\/\* "\([a-z-]*\)" \*\/.*/\1/p' "$header")
if [ -z "$reasons" ]; then
	fail "no rejection reasons found in $header"
fi
for reason in $reasons; do
	if page_has "$reason"; then
		echo "ok: $reason"
	else
		fail "the man page does not list the reason $reason"
	fi
done

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed" >&2
	exit 1
fi
echo "all man page checks passed"
