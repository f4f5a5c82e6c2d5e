#!/bin/bash
# Tests of the public-key parts of the huddleup-token command: the key
# command (PEM, JWK, JWK Set, ASAP file name), signing with a private key
# from the environment (HU_JITSI_JWT_PRIVATE_KEY_FILE, HU_JITSI_JWT_KID,
# HU_JITSI_JWT_ALG), and verify with --key-dir and --jwks.
#
# Usage: test_cli_keys.sh PATH/TO/huddleup-token
# Needs bash, coreutils and the openssl command.

set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 PATH/TO/huddleup-token" >&2
	exit 2
fi
if ! command -v openssl >/dev/null; then
	echo "openssl command not found: apt-get install openssl" >&2
	exit 2
fi
CLI=$1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/huddleup-cli-keys.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

checks=0
failures=0
TEST=""
STDOUT=""
STDERR=""

# check DESCRIPTION COMMAND...: counts a failure when COMMAND fails, and
# prints the last run's output with it.
check() {
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

equals() {
	[ "$1" = "$2" ]
}

# run EXPECTED_STATUS ARGS...: runs the command, stores its output in
# STDOUT and STDERR, appends both to all-output and checks the exit status.
run() {
	local expected=$1
	local status
	shift
	"$CLI" "$@" >"$WORK/stdout" 2>"$WORK/stderr"
	status=$?
	cat "$WORK/stdout" "$WORK/stderr" >>"$WORK/all-output"
	STDOUT=$(cat "$WORK/stdout")
	STDERR=$(cat "$WORK/stderr")
	check "exit status $status, expected $expected" [ "$status" -eq "$expected" ]
}

# Prints the decoded JSON header of a token.
header_of() {
	local part=${1%%.*}
	part=$(printf '%s' "$part" | tr '_-' '/+')
	while [ $(( ${#part} % 4 )) -ne 0 ]; do
		part="$part="
	done
	printf '%s' "$part" | base64 -d
}

asap_name() {
	printf '%s.pem' "$(printf '%s' "$1" | sha256sum | cut -d' ' -f1)"
}

export HU_JITSI_HOST=https://meet.example.com
export HU_JITSI_JWT_ENABLED=true
export HU_JITSI_JWT_APP_ID=huddleup
unset HU_JITSI_JWT_SECRET HU_JITSI_JWT_PRIVATE_KEY_FILE HU_JITSI_JWT_KID HU_JITSI_JWT_ALG

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/rsa.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/rsa-new.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$WORK/rsa-1024.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/ec.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$WORK/ec384.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out "$WORK/ec521.pem"
openssl genpkey -algorithm ED25519 -out "$WORK/ed25519.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes-128-cbc \
    -pass pass:test-only -out "$WORK/ec-encrypted.pem"
SECRET='test-only-cli-keys-secret-0123456789abcdef'

# --- key --format pem
TEST="key pem"
run 0 key --private-key "$WORK/rsa.pem"
check "RSA public key equals openssl's" equals "$STDOUT" "$(openssl pkey -in "$WORK/rsa.pem" -pubout)"
run 0 key --private-key "$WORK/ec.pem"
check "P-256 public key equals openssl's" equals "$STDOUT" "$(openssl pkey -in "$WORK/ec.pem" -pubout)"
run 0 key --private-key "$WORK/ec384.pem" --format pem
check "P-384 public key equals openssl's" equals "$STDOUT" "$(openssl pkey -in "$WORK/ec384.pem" -pubout)"
check "no private key printed" not_contains "$STDOUT" "PRIVATE"

TEST="key pem from the environment"
HU_JITSI_JWT_PRIVATE_KEY_FILE=$WORK/ec.pem run 0 key
check "public key of HU_JITSI_JWT_PRIVATE_KEY_FILE" equals "$STDOUT" "$(openssl pkey -in "$WORK/ec.pem" -pubout)"
HU_JITSI_JWT_PRIVATE_KEY_FILE=$WORK/ec.pem run 0 key --private-key "$WORK/rsa.pem"
check "--private-key overrides the variable" equals "$STDOUT" "$(openssl pkey -in "$WORK/rsa.pem" -pubout)"

TEST="key rejects unusable keys"
run 2 key --private-key "$WORK/rsa-1024.pem"
check "short RSA key" contains "$STDERR" "1024 bits"
run 2 key --private-key "$WORK/ec521.pem"
check "P-521 key" contains "$STDERR" "P-256"
run 2 key --private-key "$WORK/ed25519.pem"
check "Ed25519 key" contains "$STDERR" "configuration-error"
run 2 key --private-key "$WORK/ec-encrypted.pem"
check "encrypted key" contains "$STDERR" "unencrypted"
run 2 key --private-key "$WORK/ec.pem" --alg RS256
check "EC key with RS256" contains "$STDERR" "RSA"
run 2 key --private-key "$WORK/ec.pem" --alg HS256
check "HMAC alg" contains "$STDERR" "HMAC"
run 2 key --private-key "$WORK/missing.pem"
check "missing file" contains "$STDERR" "missing.pem"
run 2 key --private-key "$WORK/ec.pem" --format der
check "unknown format" contains "$STDERR" "--format"
run 2 key
check "no private key" contains "$STDERR" "--private-key"
HU_JITSI_JWT_ALG=HS256 run 2 key --private-key "$WORK/ec.pem"
check "HMAC alg from the environment named" contains "$STDERR" "HU_JITSI_JWT_ALG"

# --- key --format jwk and jwks
TEST="key jwk"
run 0 key --private-key "$WORK/ec.pem" --kid ec-2025 --format jwk
EC_JWK=$STDOUT
check "EC kty" contains "$EC_JWK" '"kty":"EC"'
check "EC crv" contains "$EC_JWK" '"crv":"P-256"'
check "EC kid" contains "$EC_JWK" '"kid":"ec-2025"'
check "EC alg" contains "$EC_JWK" '"alg":"ES256"'
check "EC use" contains "$EC_JWK" '"use":"sig"'
check "no private member" not_contains "$EC_JWK" '"d":'
run 0 key --private-key "$WORK/rsa.pem" --kid rsa-2025 --format jwk
check "RSA kty" contains "$STDOUT" '"kty":"RSA"'
check "RSA exponent" contains "$STDOUT" '"e":"AQAB"'
check "RSA alg" contains "$STDOUT" '"alg":"RS256"'
run 0 key --private-key "$WORK/rsa.pem" --kid rsa-2025 --alg RS512 --format jwk
check "--alg written" contains "$STDOUT" '"alg":"RS512"'
run 0 key --private-key "$WORK/ec384.pem" --kid ec384 --format jwk
check "P-384 alg" contains "$STDOUT" '"alg":"ES384"'
run 2 key --private-key "$WORK/ec.pem" --format jwk
check "jwk needs a kid" contains "$STDERR" "--kid"
HU_JITSI_JWT_PRIVATE_KEY_FILE=$WORK/ec.pem HU_JITSI_JWT_KID=env-kid run 0 key --format jwk
check "kid from HU_JITSI_JWT_KID" contains "$STDOUT" '"kid":"env-kid"'
HU_JITSI_JWT_KID=env-kid run 0 key --private-key "$WORK/ec.pem" --kid option-kid --format jwk
check "--kid overrides HU_JITSI_JWT_KID" contains "$STDOUT" '"kid":"option-kid"'

TEST="key jwks"
run 0 key --private-key "$WORK/ec.pem" --kid ec-2025 --format jwks
check "set wraps the JWK" equals "$STDOUT" "{\"keys\":[$EC_JWK]}"

# --- key --format asap-name
TEST="key asap-name"
run 0 key --kid ec-2025 --format asap-name
check "hex SHA-256 of the kid" equals "$STDOUT" "$(asap_name ec-2025)"
run 0 key --private-key "$WORK/ec.pem" --kid "tenant/key 1" --format asap-name
check "kid with slash and space" equals "$STDOUT" "$(asap_name 'tenant/key 1')"
run 2 key --private-key "$WORK/rsa-1024.pem" --kid weak --format asap-name
check "given private key is checked" contains "$STDERR" "1024 bits"
run 2 key --format asap-name
check "asap-name needs a kid" contains "$STDERR" "--kid"
run 2 key --kid "$(printf 'k%.0s' $(seq 257))" --format asap-name
check "kid over 256 bytes" contains "$STDERR" "256"

# --- issue with the private key in the environment
TEST="issue from the environment"
RSA_TOKEN=$(HU_JITSI_JWT_PRIVATE_KEY_FILE=$WORK/rsa.pem HU_JITSI_JWT_KID=rsa-old \
    HU_JITSI_JWT_ALG=RS256 "$CLI" issue --room lobby --name Ada)
check "RS256 header" contains "$(header_of "$RSA_TOKEN")" '"alg":"RS256"'
check "kid header" contains "$(header_of "$RSA_TOKEN")" '"kid":"rsa-old"'
EC_TOKEN=$(HU_JITSI_JWT_PRIVATE_KEY_FILE=$WORK/ec.pem HU_JITSI_JWT_KID=ec-2025 \
    HU_JITSI_JWT_ALG=ES256 "$CLI" issue --room lobby --moderator)
check "ES256 header" contains "$(header_of "$EC_TOKEN")" '"alg":"ES256"'
NEW_TOKEN=$(HU_JITSI_JWT_PRIVATE_KEY_FILE=$WORK/rsa.pem HU_JITSI_JWT_KID=rsa-old \
    HU_JITSI_JWT_ALG=RS256 "$CLI" issue --room lobby --private-key "$WORK/rsa-new.pem" --kid rsa-new)
check "options override the variables" contains "$(header_of "$NEW_TOKEN")" '"kid":"rsa-new"'
HU_JITSI_JWT_PRIVATE_KEY_FILE=$WORK/ec.pem HU_JITSI_JWT_ALG=ES256 run 0 url --room lobby
check "url signs with the variables" contains "$STDOUT" "?jwt="
HU_JITSI_JWT_PRIVATE_KEY_FILE=$WORK/ec.pem HU_JITSI_JWT_ALG=ES256 HU_JITSI_JWT_SECRET=$SECRET run 2 issue --room lobby
check "secret and private key both set" contains "$STDERR" "ambiguous"
echo "$SECRET" >"$WORK/secret"
HU_JITSI_JWT_PRIVATE_KEY_FILE=$WORK/ec.pem run 0 issue --room lobby --secret-file "$WORK/secret"
check "--secret-file overrides the private key variable" contains "$(header_of "$STDOUT")" '"alg":"HS256"'
HU_JITSI_JWT_PRIVATE_KEY_FILE=$WORK/ec.pem run 2 issue --room lobby
check "private key without alg" contains "$STDERR" "HU_JITSI_JWT_ALG"
HU_JITSI_JWT_SECRET=$SECRET HU_JITSI_JWT_ALG=ES256 run 2 issue --room lobby
check "public-key alg without private key" contains "$STDERR" "HU_JITSI_JWT_PRIVATE_KEY_FILE"
HU_JITSI_JWT_SECRET=$SECRET HU_JITSI_JWT_KID=k1 run 2 issue --room lobby
check "kid with a secret" contains "$STDERR" "HU_JITSI_JWT_KID"
HU_JITSI_JWT_SECRET=$SECRET HU_JITSI_JWT_ALG=HS384 run 0 issue --room lobby
check "HMAC alg from the environment" contains "$(header_of "$STDOUT")" '"alg":"HS384"'
HS_TOKEN=$(HU_JITSI_JWT_SECRET=$SECRET "$CLI" issue --room lobby)

# --- verify --key-dir (Jitsi's ASAP layout)
TEST="verify key-dir"
mkdir "$WORK/keys"
"$CLI" key --private-key "$WORK/rsa.pem" >"$WORK/keys/$(asap_name rsa-old)"
"$CLI" key --private-key "$WORK/ec.pem" >"$WORK/keys/$(asap_name ec-2025)"
run 0 verify --key-dir "$WORK/keys" "$RSA_TOKEN"
check "RS256 valid" contains "$STDOUT" '{"valid":true,"moderator":false,"claims":{'
check "RS256 claims" contains "$STDOUT" '"name":"Ada"'
run 0 verify --key-dir "$WORK/keys" "$EC_TOKEN"
check "ES256 moderator" contains "$STDOUT" '"moderator":true'
run 0 verify --key-dir "$WORK/keys" --alg ES256 --room lobby "$EC_TOKEN"
check "ES256 with --alg and --room" contains "$STDOUT" '"valid":true'
run 1 verify --key-dir "$WORK/keys" --room other "$EC_TOKEN"
check "room mismatch" contains "$STDOUT" '"reason":"room-mismatch"'
run 1 verify --key-dir "$WORK/keys" "$NEW_TOKEN"
check "kid without key file" contains "$STDOUT" '"reason":"unknown-key"'
check "detail names the file" contains "$STDOUT" "$(asap_name rsa-new)"
run 1 verify --key-dir "$WORK/keys" "$HS_TOKEN"
check "token without kid" contains "$STDOUT" '"reason":"unknown-key"'
run 1 verify --key-dir "$WORK/keys" "${RSA_TOKEN%.*}.${EC_TOKEN##*.}"
check "wrong signature" contains "$STDOUT" '"reason":"signature-mismatch"'
run 1 verify --key-dir "$WORK/keys" --now 4102444800 "$RSA_TOKEN"
check "expired" contains "$STDOUT" '"reason":"token-expired"'
run 1 verify --key-dir "$WORK/keys" "not-a-token"
check "malformed token" contains "$STDOUT" '"valid":false'
printf '%s\n' "$EC_TOKEN" >"$WORK/token"
run 0 verify --key-dir "$WORK/keys" - <"$WORK/token"
check "token from standard input" contains "$STDOUT" '"valid":true'

TEST="verify key-dir rotation"
"$CLI" key --private-key "$WORK/rsa-new.pem" >"$WORK/keys/$(asap_name rsa-new)"
run 0 verify --key-dir "$WORK/keys" "$NEW_TOKEN"
check "new kid valid" contains "$STDOUT" '"valid":true'
run 0 verify --key-dir "$WORK/keys" "$RSA_TOKEN"
check "old kid still valid" contains "$STDOUT" '"valid":true'
rm "$WORK/keys/$(asap_name rsa-old)"
run 1 verify --key-dir "$WORK/keys" "$RSA_TOKEN"
check "removed kid rejected" contains "$STDOUT" '"reason":"unknown-key"'

TEST="verify key-dir errors"
cp "$WORK/rsa.pem" "$WORK/keys/$(asap_name rsa-old)"
run 2 verify --key-dir "$WORK/keys" "$RSA_TOKEN"
check "private key in the folder" contains "$STDERR" "private key"
"$CLI" key --private-key "$WORK/ec.pem" >"$WORK/keys/$(asap_name rsa-old)"
run 2 verify --key-dir "$WORK/keys" --alg RS256 "$RSA_TOKEN"
check "key does not fit --alg" contains "$STDERR" "RSA"
run 2 verify --key-dir "$WORK/missing" "$RSA_TOKEN"
check "missing folder" contains "$STDERR" "--key-dir"
run 2 verify --key-dir "$WORK/keys" --kid rsa-old "$RSA_TOKEN"
check "--kid with --key-dir" contains "$STDERR" "--kid"
run 2 verify --key-dir "$WORK/keys" --alg HS256 "$RSA_TOKEN"
check "HMAC alg with --key-dir" contains "$STDERR" "--key-dir"
run 2 verify --key-dir "$WORK/keys" --public-key "$WORK/keys/$(asap_name ec-2025)" "$RSA_TOKEN"
check "two key sources" contains "$STDERR" "only one"

# --- verify --jwks
TEST="verify jwks"
printf '{"keys":[%s,%s]}\n' \
    "$("$CLI" key --private-key "$WORK/rsa.pem" --kid rsa-old --format jwk)" \
    "$("$CLI" key --private-key "$WORK/ec.pem" --kid ec-2025 --format jwk)" >"$WORK/set.json"
run 0 verify --jwks "$WORK/set.json" "$RSA_TOKEN"
check "RS256 from the set" contains "$STDOUT" '{"valid":true,"moderator":false,"claims":{'
run 0 verify --jwks "$WORK/set.json" "$EC_TOKEN"
check "ES256 from the set" contains "$STDOUT" '"valid":true'
run 1 verify --jwks "$WORK/set.json" "$NEW_TOKEN"
check "kid not in the set" contains "$STDOUT" '"reason":"unknown-key"'
run 1 verify --jwks "$WORK/set.json" "$HS_TOKEN"
check "HS256 token" contains "$STDOUT" '"valid":false'

TEST="verify jwks errors"
printf '{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"x"}]}' >"$WORK/oct.json"
run 2 verify --jwks "$WORK/oct.json" "$RSA_TOKEN"
check "symmetric key" contains "$STDERR" "oct.json"
printf '{"keys":[]}' >"$WORK/empty.json"
run 2 verify --jwks "$WORK/empty.json" "$RSA_TOKEN"
check "empty set" contains "$STDERR" "no keys"
printf '{"keys":[%s]}' "$(sed 's/,"kid":"ec-2025"//' <<<"$EC_JWK")" >"$WORK/no-kid.json"
run 2 verify --jwks "$WORK/no-kid.json" "$EC_TOKEN"
check "JWK without kid" contains "$STDERR" "kid"
run 2 verify --jwks "$WORK/missing.json" "$RSA_TOKEN"
check "missing file" contains "$STDERR" "missing.json"
run 2 verify --jwks "$WORK/set.json" --alg RS256 "$RSA_TOKEN"
check "--alg with --jwks" contains "$STDERR" "--alg"
run 2 verify --jwks "$WORK/set.json" --kid rsa-old "$RSA_TOKEN"
check "--kid with --jwks" contains "$STDERR" "--kid"

# --- help and secrecy
TEST="help"
run 0 key --help
check "key help lists the formats" contains "$STDOUT" "asap-name"
run 0 verify --help
check "verify help lists --key-dir" contains "$STDOUT" "--key-dir"
run 0 --help
check "main help lists the key command" contains "$STDOUT" "HU_JITSI_JWT_PRIVATE_KEY_FILE"

TEST="no private key in any output"
for key in rsa rsa-new ec ec384; do
	body_line=$(sed -n 2p "$WORK/$key.pem")
	check "$key.pem not printed" not_contains "$(cat "$WORK/all-output")" "$body_line"
done
check "secret not printed" not_contains "$(cat "$WORK/all-output")" "$SECRET"

echo "test_cli_keys: $checks checks, $failures failed"
[ "$failures" -eq 0 ]
