#!/bin/bash
# Tests of the huddleup-token command: every exit status, the JWT-disabled
# path, configuration errors, stdin input, rejected tokens, public keys, and
# that no output ever contains a secret.
#
# Usage: test_cli.sh PATH/TO/huddleup-token
# Needs bash, coreutils and, for the public-key tests, the openssl command.

set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 PATH/TO/huddleup-token" >&2
	exit 2
fi
CLI=$1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/huddleup-cli-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

SECRET='test-only-cli-secret-0123456789abcdef-XYZ'
OTHER_SECRET='test-only-other-secret-0123456789abcdef'
WEAK_SECRET='weak-secret-31-bytes-0123456789'
FILE_SECRET='test-only-file-secret-0123456789abcdef'

checks=0
failures=0
TEST=""
STDOUT=""
STDERR=""

# Records one check: expect DESCRIPTION COMMAND... passes when COMMAND
# succeeds, and prints the last run's output when it does not.
expect() {
	local description=$1
	shift
	checks=$((checks + 1))
	if ! "$@"; then
		failures=$((failures + 1))
		echo "FAIL: $TEST: $description" >&2
		echo "  stdout: $STDOUT" >&2
		echo "  stderr: $STDERR" >&2
	fi
}

contains() {
	[[ $1 == *"$2"* ]]
}

not_contains() {
	[[ $1 != *"$2"* ]]
}

matches() {
	[[ $1 =~ $2 ]]
}

# Runs the command with the arguments after EXPECTED_STATUS and checks its
# exit status. Stores its output in STDOUT and STDERR, and appends both to
# all-output, which the last test searches for secrets.
run_cli() {
	local expected=$1
	local status
	shift
	"$CLI" "$@" >"$WORK/stdout" 2>"$WORK/stderr"
	status=$?
	cat "$WORK/stdout" "$WORK/stderr" >>"$WORK/all-output"
	STDOUT=$(cat "$WORK/stdout")
	STDERR=$(cat "$WORK/stderr")
	expect "exit status $status, expected $expected" \
	    [ "$status" -eq "$expected" ]
}

# Extracts the token from a join URL.
token_of_url() {
	printf '%s' "${1#*\?jwt=}"
}

export HU_JITSI_HOST=https://meet.example.com
export HU_JITSI_JWT_ENABLED=true
export HU_JITSI_JWT_APP_ID=huddleup
export HU_JITSI_JWT_SECRET=$SECRET
TOKEN_PATTERN='[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+'

TEST="version and help"
run_cli 0 --version
expect "prints the version" matches "$STDOUT" '^huddleup-token [0-9]+\.[0-9]+\.[0-9]+$'
run_cli 0 --help
expect "lists the commands" contains "$STDOUT" "verify"
expect "names HU_JITSI_HOST" contains "$STDOUT" "HU_JITSI_HOST"
run_cli 0 -h
expect "-h prints the help" contains "$STDOUT" "Usage: huddleup-token"
run_cli 0 issue --help
expect "issue help gives the ttl unit" contains "$STDOUT" "--ttl SECONDS"
run_cli 0 url -h
expect "url help explains JWT disabled" contains "$STDOUT" "no moderator rights"
run_cli 0 verify --help
expect "verify help gives the size unit" contains "$STDOUT" "--max-size BYTES"

TEST="usage errors exit 2"
run_cli 2
expect "names the missing command" contains "$STDERR" "missing command"
run_cli 2 frobnicate
expect "names the unknown command" contains "$STDERR" "'frobnicate'"
run_cli 2 --bogus
expect "names the unknown top-level option" contains "$STDERR" "'--bogus'"
run_cli 2 issue --room lobby --bogus
expect "names the unknown option" contains "$STDERR" "unknown option '--bogus'"
run_cli 2 issue --room lobby --bogus=1
expect "names the unknown option without value" contains "$STDERR" "unknown option '--bogus'"
run_cli 2 issue --room
expect "names the option without argument" contains "$STDERR" "'--room' needs an argument"
run_cli 2 url --room --name Ada
expect "an option is no argument" contains "$STDERR" "'--room' needs an argument"
run_cli 2 issue --room lobby --moderator=yes
expect "rejects a value for a flag" contains "$STDERR" "'--moderator' does not take a value"
run_cli 2 issue --room lobby -x
expect "names the short option" contains "$STDERR" "'-x'"
run_cli 2 issue --room lobby extra
expect "names the extra argument" contains "$STDERR" "'extra'"
run_cli 2 issue --name Ada
expect "room is required" contains "$STDERR" "--room"
run_cli 2 issue --room lobby --ttl 0
expect "ttl below 1" contains "$STDERR" "--ttl"
run_cli 2 issue --room lobby --ttl 604801
expect "ttl above 7 days" contains "$STDERR" "604800"
run_cli 2 issue --room lobby --ttl 1h
expect "ttl not a number" contains "$STDERR" "'1h'"
run_cli 2 verify
expect "verify needs a token" contains "$STDERR" "missing TOKEN"
run_cli 2 verify a.b.c d.e.f
expect "verify takes one token" contains "$STDERR" "'d.e.f'"
run_cli 2 verify --now yesterday a.b.c
expect "names the bad --now" contains "$STDERR" "--now"
run_cli 2 verify --leeway 4000 a.b.c
expect "leeway out of range" contains "$STDERR" "--leeway"
run_cli 2 verify --max-size 10 a.b.c
expect "max size out of range" contains "$STDERR" "--max-size"
run_cli 2 verify --max-lifetime 1 a.b.c
expect "max lifetime out of range" contains "$STDERR" "--max-lifetime"
run_cli 2 issue --room lobby --alg RS256
expect "RS256 needs a private key" contains "$STDERR" "--private-key"
run_cli 2 issue --room lobby --private-key /nonexistent.pem
expect "a private key needs --alg" contains "$STDERR" "--alg"
run_cli 2 issue --room lobby --kid k1
expect "kid needs a private key" contains "$STDERR" "--kid"
run_cli 2 issue --room lobby --alg none
expect "alg none is unsupported" contains "$STDERR" "unsupported --alg 'none'"
run_cli 2 verify --alg HS1024 a.b.c
expect "unknown HMAC alg" contains "$STDERR" "unsupported --alg 'HS1024'"
run_cli 2 verify --alg ES512 --public-key /nonexistent.pem a.b.c
expect "ES512 is unsupported" contains "$STDERR" "unsupported --alg 'ES512'"

TEST="HU_JITSI_HOST missing or invalid"
HU_JITSI_HOST= run_cli 2 issue --room lobby
expect "names HU_JITSI_HOST" contains "$STDERR" "HU_JITSI_HOST is not set"
# The subshell keeps the unset local. It exits with its own failure count.
(
	unset HU_JITSI_HOST
	failures=0
	run_cli 2 url --room lobby
	exit "$failures"
)
failures=$((failures + $?))
checks=$((checks + 1))
STDERR=$(cat "$WORK/stderr")
expect "unset HU_JITSI_HOST is named" contains "$STDERR" "HU_JITSI_HOST"
HU_JITSI_HOST=meet.example.com run_cli 2 url --room lobby
expect "host without scheme" contains "$STDERR" "http:// or https://"
HU_JITSI_HOST=ftp://meet.example.com run_cli 2 url --room lobby
expect "ftp host" contains "$STDERR" "invalid HU_JITSI_HOST"
run_cli 2 url --room lobby --host "https://meet.example.com?x=1"
expect "names --host" contains "$STDERR" "invalid --host"

TEST="HU_JITSI_JWT_ENABLED values"
HU_JITSI_JWT_ENABLED=maybe run_cli 2 url --room lobby
expect "names the variable and value" contains "$STDERR" "'maybe' for HU_JITSI_JWT_ENABLED"
HU_JITSI_JWT_ENABLED=maybe run_cli 2 verify a.b.c
expect "verify also checks the variable" contains "$STDERR" "HU_JITSI_JWT_ENABLED"
for value in true TRUE Yes 1; do
	HU_JITSI_JWT_ENABLED=$value run_cli 0 url --room lobby
	expect "$value enables JWT" matches "$STDOUT" "^https://meet\.example\.com/lobby\?jwt=$TOKEN_PATTERN\$"
done
for value in false FALSE No 0 ""; do
	HU_JITSI_JWT_ENABLED=$value run_cli 0 url --room lobby
	expect "'$value' disables JWT" [ "$STDOUT" = "https://meet.example.com/lobby" ]
done

TEST="JWT disabled"
HU_JITSI_JWT_ENABLED=false run_cli 0 url --room "Team Sync" --moderator
expect "prints the plain URL" [ "$STDOUT" = "https://meet.example.com/Team%20Sync" ]
expect "warns about moderator rights" contains "$STDERR" "no moderator rights"
expect "warns about access protection" contains "$STDERR" "no access protection"
HU_JITSI_JWT_ENABLED=false HU_JITSI_JWT_SECRET= run_cli 0 url --room lobby
expect "needs no secret" [ "$STDOUT" = "https://meet.example.com/lobby" ]
HU_JITSI_JWT_ENABLED=false run_cli 2 url --room "a/b"
expect "still checks the room" contains "$STDERR" "invalid --room"
HU_JITSI_JWT_ENABLED=false run_cli 2 issue --room lobby
expect "issue needs JWT" contains "$STDERR" "HU_JITSI_JWT_ENABLED=true"

TEST="missing app id or secret"
HU_JITSI_JWT_APP_ID= run_cli 2 issue --room lobby
expect "names HU_JITSI_JWT_APP_ID" contains "$STDERR" "HU_JITSI_JWT_APP_ID is not set"
HU_JITSI_JWT_SECRET= run_cli 2 issue --room lobby
expect "names HU_JITSI_JWT_SECRET" contains "$STDERR" "HU_JITSI_JWT_SECRET is not set"
HU_JITSI_JWT_APP_ID= run_cli 2 verify a.b.c
expect "verify names HU_JITSI_JWT_APP_ID" contains "$STDERR" "HU_JITSI_JWT_APP_ID"
HU_JITSI_JWT_SECRET= run_cli 2 verify a.b.c
expect "verify names HU_JITSI_JWT_SECRET" contains "$STDERR" "HU_JITSI_JWT_SECRET"
run_cli 2 issue --room lobby --secret-file "$WORK/no-such-file"
expect "names the missing secret file" contains "$STDERR" "no-such-file"

TEST="weak secret exits 2"
HU_JITSI_JWT_SECRET=$WEAK_SECRET run_cli 2 issue --room lobby
expect "issue reports configuration-error" contains "$STDERR" "configuration-error"
HU_JITSI_JWT_SECRET=$WEAK_SECRET run_cli 2 url --room lobby
expect "url reports configuration-error" contains "$STDERR" "configuration-error"
HU_JITSI_JWT_SECRET=$WEAK_SECRET run_cli 2 verify a.b.c
expect "verify reports configuration-error" contains "$STDERR" "configuration-error"
expect "verify prints no JSON" [ -z "$STDOUT" ]
HU_JITSI_JWT_SECRET=$WEAK_SECRET run_cli 2 verify - <<<"a.b.c"
expect "fails before reading stdin" contains "$STDERR" "configuration-error"

TEST="acceptance url and verify"
run_cli 0 url --room weekly-sync --name Ada --moderator
expect "prints the join URL" matches "$STDOUT" "^https://meet\.example\.com/weekly-sync\?jwt=$TOKEN_PATTERN\$"
MODERATOR_TOKEN=$(token_of_url "$STDOUT")
run_cli 0 verify --room weekly-sync "$MODERATOR_TOKEN"
expect "valid moderator" contains "$STDOUT" '{"valid":true,"moderator":true,"claims":{'
expect "room claim" contains "$STDOUT" '"room":"weekly-sync"'
expect "issuer claim" contains "$STDOUT" '"iss":"huddleup"'
expect "audience claim" contains "$STDOUT" '"aud":"jitsi"'
expect "sub is the host name" contains "$STDOUT" '"sub":"meet.example.com"'
expect "name claim" contains "$STDOUT" '"name":"Ada"'
expect "user moderator is a boolean" contains "$STDOUT" '"user":{"moderator":true'
expect "nothing on stderr" [ -z "$STDERR" ]

TEST="issue and verify member"
run_cli 0 issue --room lobby --name 'Zoë "Z" \ Ñandú' --email zoe@example.com --id u-42 \
    --avatar https://example.com/z.png --group ops --ttl 600
expect "prints one token" matches "$STDOUT" "^$TOKEN_PATTERN\$"
MEMBER_TOKEN=$STDOUT
run_cli 0 verify "$MEMBER_TOKEN"
expect "valid member" contains "$STDOUT" '{"valid":true,"moderator":false,'
expect "escaped name" contains "$STDOUT" '"name":"Zoë \"Z\" \\ Ñandú"'
expect "group claim" contains "$STDOUT" '"group":"ops"'
expect "email claim" contains "$STDOUT" '"email":"zoe@example.com"'
run_cli 0 issue --room '*'
expect "issue accepts the wildcard room" matches "$STDOUT" "^$TOKEN_PATTERN\$"
run_cli 2 url --room '*'
expect "url rejects the wildcard room" contains "$STDERR" "one room"
run_cli 2 issue --room 'lobby@conference'
expect "room with @" contains "$STDERR" "invalid-argument"

TEST="token from stdin"
run_cli 0 verify - <<<"$MODERATOR_TOKEN"
expect "newline-terminated stdin" contains "$STDOUT" '"valid":true'
printf '%s\r\n' "$MODERATOR_TOKEN" >"$WORK/crlf"
run_cli 0 verify - <"$WORK/crlf"
expect "CRLF-terminated stdin" contains "$STDOUT" '"valid":true'
printf '%s\n\n' "$MODERATOR_TOKEN" >"$WORK/two-newlines"
run_cli 1 verify - <"$WORK/two-newlines"
expect "only one newline is removed" contains "$STDOUT" '"valid":false'
run_cli 1 verify - </dev/null
expect "empty stdin" contains "$STDOUT" '"valid":false'
head -c 2097152 /dev/zero | tr '\0' 'A' >"$WORK/huge"
run_cli 1 verify - <"$WORK/huge"
expect "2 MiB stdin is too large" contains "$STDOUT" '"reason":"token-too-large"'

TEST="rejected tokens exit 1"
IFS=. read -r header _ signature <<<"$MEMBER_TOKEN"
IFS=. read -r _ moderator_payload _ <<<"$MODERATOR_TOKEN"
run_cli 1 verify "$header.$moderator_payload.$signature"
expect "swapped payload" contains "$STDOUT" '{"valid":false,"reason":"signature-mismatch","detail":"'
HU_JITSI_JWT_SECRET=$OTHER_SECRET run_cli 1 verify "$MODERATOR_TOKEN"
expect "other secret" contains "$STDOUT" '"reason":"signature-mismatch"'
run_cli 1 verify --room other-room "$MODERATOR_TOKEN"
expect "wrong room" contains "$STDOUT" '{"valid":false,"reason":"room-mismatch","detail":"'
run_cli 0 issue --room 'w%65ekly-sync' --moderator
ESCAPE_TOKEN=$STDOUT
run_cli 1 verify --room weekly-sync "$ESCAPE_TOKEN"
expect "a % in the room does not admit the decoded room" contains "$STDOUT" '"reason":"room-mismatch"'
run_cli 0 verify --room 'w%2565ekly-sync' "$ESCAPE_TOKEN"
expect "the room claim writes % as %25" contains "$STDOUT" '"room":"w%2565ekly-sync"'
mkfifo "$WORK/fifo"
run_cli 2 issue --room lobby --secret-file "$WORK/fifo"
expect "a FIFO as secret file is rejected, not waited on" contains "$STDERR" "not a regular file"
run_cli 1 verify not-a-token
expect "garbage" contains "$STDOUT" '"reason":"invalid-encoding"'
run_cli 1 verify --now $(( $(date +%s) + 2 * 86400 )) "$MODERATOR_TOKEN"
expect "expired" contains "$STDOUT" '"reason":"token-expired"'
run_cli 1 verify --app-id someone-else "$MODERATOR_TOKEN"
expect "other issuer" contains "$STDOUT" '"reason":"issuer-not-accepted"'
run_cli 1 verify --max-size 256 "$MODERATOR_TOKEN"
expect "max size" contains "$STDOUT" '"reason":"token-too-large"'
run_cli 0 issue --room lobby --audience huddleup-meet
AUDIENCE_TOKEN=$STDOUT
run_cli 1 verify "$AUDIENCE_TOKEN"
expect "other audience" contains "$STDOUT" '"reason":"audience-not-accepted"'
run_cli 0 verify --audience huddleup-meet "$AUDIENCE_TOKEN"
expect "accepted audience" contains "$STDOUT" '"aud":"huddleup-meet"'

TEST="sub from host and option"
HU_JITSI_HOST=https://user@Meet.Example.COM:8443/ run_cli 0 url --room lobby
expect "URL keeps the host as given" matches "$STDOUT" "^https://user@Meet\.Example\.COM:8443/lobby\?jwt="
run_cli 0 verify "$(token_of_url "$STDOUT")"
expect "sub is the lowercase host without port" contains "$STDOUT" '"sub":"meet.example.com"'
run_cli 0 issue --room lobby --sub tenant-a
run_cli 0 verify "$STDOUT"
expect "--sub wins" contains "$STDOUT" '"sub":"tenant-a"'
run_cli 0 url --room 'café 東京' --host http://127.0.0.1:8000/jitsi/
expect "percent-encoded room" matches "$STDOUT" "^http://127\.0\.0\.1:8000/jitsi/caf%C3%A9%20%E6%9D%B1%E4%BA%AC\?jwt=$TOKEN_PATTERN\$"
run_cli 0 verify "$(token_of_url "$STDOUT")"
expect "sub of an IP host" contains "$STDOUT" '"sub":"127.0.0.1"'

TEST="HMAC algorithms and secret file"
for alg in HS384 HS512; do
	run_cli 0 issue --room lobby --alg "$alg"
	ALG_TOKEN=$STDOUT
	run_cli 0 verify --alg "$alg" "$ALG_TOKEN"
	expect "$alg verifies" contains "$STDOUT" '"valid":true'
	run_cli 1 verify "$ALG_TOKEN"
	expect "$alg is not HS256" contains "$STDOUT" '"valid":false'
done
printf '%s\n' "$FILE_SECRET" >"$WORK/secret"
run_cli 0 issue --room lobby --secret-file "$WORK/secret"
FILE_TOKEN=$STDOUT
HU_JITSI_JWT_SECRET=$FILE_SECRET run_cli 0 verify "$FILE_TOKEN"
expect "one trailing newline is removed" contains "$STDOUT" '"valid":true'
HU_JITSI_JWT_SECRET= run_cli 0 verify --secret-file "$WORK/secret" "$FILE_TOKEN"
expect "verify reads the secret file" contains "$STDOUT" '"valid":true'
run_cli 1 verify "$FILE_TOKEN"
expect "the file overrides the environment" contains "$STDOUT" '"reason":"signature-mismatch"'
printf '%s' "$WEAK_SECRET" >"$WORK/weak-secret"
run_cli 2 verify --secret-file "$WORK/weak-secret" "$FILE_TOKEN"
expect "weak secret file" contains "$STDERR" "configuration-error"

TEST="public keys"
if command -v openssl >/dev/null 2>&1; then
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/rsa.pem" 2>/dev/null
	openssl pkey -in "$WORK/rsa.pem" -pubout -out "$WORK/rsa.pub" 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/ec.pem" 2>/dev/null
	openssl pkey -in "$WORK/ec.pem" -pubout -out "$WORK/ec.pub" 2>/dev/null
	HU_JITSI_JWT_SECRET= run_cli 0 issue --room lobby --moderator --alg RS256 \
	    --private-key "$WORK/rsa.pem" --kid rsa-1
	RSA_TOKEN=$STDOUT
	HU_JITSI_JWT_SECRET= run_cli 0 verify --alg RS256 --public-key "$WORK/rsa.pub" --kid rsa-1 "$RSA_TOKEN"
	expect "RS256 verifies" contains "$STDOUT" '{"valid":true,"moderator":true,'
	run_cli 1 verify --alg RS256 --public-key "$WORK/rsa.pub" --kid rsa-2 "$RSA_TOKEN"
	expect "RS256 other kid" contains "$STDOUT" '"valid":false'
	HU_JITSI_JWT_SECRET= run_cli 0 url --room lobby --alg ES256 --private-key "$WORK/ec.pem"
	ES_TOKEN=$(token_of_url "$STDOUT")
	run_cli 0 verify --alg ES256 --public-key "$WORK/ec.pub" "$ES_TOKEN"
	expect "ES256 verifies" contains "$STDOUT" '"valid":true'
	run_cli 1 verify --alg ES256 --public-key "$WORK/ec.pub" "$RSA_TOKEN"
	expect "RS256 token under ES256 key" contains "$STDOUT" '"valid":false'
	run_cli 2 issue --room lobby --alg ES256 --private-key "$WORK/rsa.pem"
	expect "RSA key for ES256" contains "$STDERR" "configuration-error"
	run_cli 2 verify --alg RS256 --public-key "$WORK/ec.pub" "$RSA_TOKEN"
	expect "EC public key for RS256" contains "$STDERR" "configuration-error"
	run_cli 2 issue --room lobby --alg RS256 --private-key "$WORK/rsa.pem" --secret-file "$WORK/secret"
	expect "key and secret file together" contains "$STDERR" "cannot be combined"
else
	echo "NOTE: openssl command not found; public-key tests skipped" >&2
fi

TEST="secret never printed"
for secret in "$SECRET" "$OTHER_SECRET" "$WEAK_SECRET" "$FILE_SECRET"; do
	expect "output does not contain a secret" not_contains "$(cat "$WORK/all-output")" "$secret"
done
expect "the outputs were collected" [ -s "$WORK/all-output" ]

echo "test_cli: $checks checks, $failures failed"
[ "$failures" -eq 0 ]
