/*
 * The header and claims parser. The input is header JSON, a NUL byte and
 * payload JSON (no NUL: the whole input is the payload under a standard
 * HS256 header). The target encodes both, signs them with the verifier's
 * own key and verifies the token, so every input reaches the header checks
 * and, past them, the claim checks. Properties:
 * - the signature always verifies, so signature-mismatch is a bug;
 * - every status is HU_OK or a rejection with a detail;
 * - accepted claims equal the payload as jansson reads it, and the
 *   moderator flag follows the rule in token.h;
 * - a payload without NUL bytes that jansson reads as an object (with
 *   JSON_REJECT_DUPLICATES) within the bounds of hu_json_within_bounds() is
 *   never invalid-json. Payloads with a NUL byte are left out because
 *   jansson 2.14 drops a NUL that directly follows a number or a literal
 *   ({"a":1<NUL>} reads as {"a":1}), while the verifier rejects every NUL.
 */
#include <stdint.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fuzz_common.h"
#include "internal.h"

#define STANDARD_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static hu_verifier *strict_verifier;
static hu_verifier *permissive_verifier;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	hu_verifier *v;

	(void)argc;
	(void)argv;
	strict_verifier = v = hu_verifier_new();
	FUZZ_ASSERT(v != NULL, "out of memory");
	FUZZ_ASSERT(hu_verifier_add_hmac_key(v, NULL, "HS256", FUZZ_SECRET,
	    strlen(FUZZ_SECRET), NULL, 0) == HU_OK, "HS256 key");
	FUZZ_ASSERT(hu_verifier_add_issuer(v, FUZZ_APP_ID) == HU_OK, "issuer");

	permissive_verifier = v = hu_verifier_new();
	FUZZ_ASSERT(v != NULL, "out of memory");
	FUZZ_ASSERT(hu_verifier_add_hmac_key(v, NULL, "HS256", FUZZ_SECRET,
	    strlen(FUZZ_SECRET), NULL, 0) == HU_OK, "HS256 key");
	FUZZ_ASSERT(hu_verifier_add_issuer(v, "*") == HU_OK, "issuer");
	FUZZ_ASSERT(hu_verifier_add_audience(v, "*") == HU_OK, "audience");
	FUZZ_ASSERT(hu_verifier_set_require_room(v, 0) == HU_OK, "room");
	FUZZ_ASSERT(hu_verifier_set_max_size(v, 65536) == HU_OK, "size");
	return 0;
}

/* The moderator rule of token.h, applied independently of claims.c. */
static int reference_moderator(const json_t *root)
{
	const json_t *user = json_object_get(json_object_get(root, "context"), "user");
	const json_t *affiliation = json_object_get(user, "affiliation");
	const json_t *flag = json_object_get(user, "moderator");

	if (json_is_string(affiliation) &&
	    (strcmp(json_string_value(affiliation), "owner") == 0 ||
	     strcmp(json_string_value(affiliation), "moderator") == 0))
		return 1;
	if (flag == NULL)
		flag = json_object_get(root, "moderator");
	return json_is_true(flag) ||
	    (json_is_string(flag) && strcmp(json_string_value(flag), "true") == 0);
}

static void check_accepted(const hu_claims *claims, const uint8_t *payload,
    size_t payload_len)
{
	json_t *expected = json_loadb((const char *)payload, payload_len,
	    JSON_REJECT_DUPLICATES, NULL);
	const char *text = hu_claims_json(claims);
	json_t *actual = text != NULL ? json_loads(text, 0, NULL) : NULL;

	FUZZ_ASSERT(expected != NULL, "accepted a payload jansson rejects");
	FUZZ_ASSERT(actual != NULL && json_equal(expected, actual),
	    "claims differ from the payload");
	FUZZ_ASSERT(hu_claims_is_moderator(claims) == reference_moderator(expected),
	    "moderator flag %d differs from the rule",
	    hu_claims_is_moderator(claims));
	FUZZ_ASSERT(hu_json_within_bounds(payload, payload_len) == 0,
	    "accepted a payload beyond the JSON bounds");
	json_decref(expected);
	json_decref(actual);
}

static void verify_with(const hu_verifier *v, const char *token, size_t len,
    const uint8_t *payload, size_t payload_len, int payload_is_valid)
{
	char detail[HU_DETAIL_SIZE] = "";
	hu_claims *claims = NULL;
	hu_status status;

	status = hu_verify(v, token, len, FUZZ_NOW, &claims, detail,
	    sizeof detail);
	if (status == HU_OK) {
		FUZZ_ASSERT(claims != NULL, "HU_OK without claims");
		check_accepted(claims, payload, payload_len);
		hu_claims_free(claims);
		return;
	}
	FUZZ_ASSERT(status != HU_ERR_SIGNATURE_MISMATCH,
	    "a correctly signed token was rejected: %s", detail);
	FUZZ_ASSERT(status != HU_ERR_INVALID_JSON || !payload_is_valid,
	    "a payload that jansson accepts was rejected: %s", detail);
	FUZZ_ASSERT(hu_status_is_rejection(status), "status %s (%s)",
	    hu_strerror(status), detail);
	FUZZ_ASSERT(detail[0] != '\0', "%s without a detail",
	    hu_strerror(status));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *separator = memchr(data, '\0', size);
	const uint8_t *header = (const uint8_t *)STANDARD_HEADER, *payload = data;
	size_t header_len = strlen(STANDARD_HEADER), payload_len = size;
	unsigned char mac[32];
	unsigned int mac_len = 0;
	size_t token_len;
	char *token;
	json_t *parsed;
	int payload_is_valid;

	if (separator != NULL) {
		header = data;
		header_len = (size_t)(separator - data);
		payload = separator + 1;
		payload_len = size - header_len - 1;
	}
	(void)hu_json_within_bounds(header, header_len);
	parsed = json_loadb((const char *)payload, payload_len,
	    JSON_REJECT_DUPLICATES, NULL);
	payload_is_valid = json_is_object(parsed) &&
	    memchr(payload, '\0', payload_len) == NULL &&
	    hu_json_within_bounds(payload, payload_len) == 0;
	json_decref(parsed);

	/* header.payload.signature, each part unpadded base64url. */
	token = malloc((header_len + 2) / 3 * 4 + (payload_len + 2) / 3 * 4 + 48);
	FUZZ_ASSERT(token != NULL, "out of memory");
	token_len = hu_b64url_encode(header, header_len, token);
	token[token_len++] = '.';
	token_len += hu_b64url_encode(payload, payload_len, token + token_len);
	FUZZ_ASSERT(HMAC(EVP_sha256(), FUZZ_SECRET, (int)strlen(FUZZ_SECRET),
	    (const unsigned char *)token, token_len, mac, &mac_len) != NULL,
	    "HMAC failed");
	token[token_len++] = '.';
	token_len += hu_b64url_encode(mac, mac_len, token + token_len);

	verify_with(strict_verifier, token, token_len, payload, payload_len,
	    payload_is_valid);
	verify_with(permissive_verifier, token, token_len, payload, payload_len,
	    payload_is_valid);
	free(token);
	return 0;
}
