/*
 * JWK Set parsing (hu_verifier_add_jwks) on arbitrary bytes, into a
 * verifier that already has a default HS256 key and an HS384 key under kid
 * "fixed". Both are HMAC keys, because loading a PEM key for every input
 * would cost more than the parsing under test. A key set comes from a key
 * server, so its bytes are not trusted.
 * Properties:
 * - the status is HU_OK, or HU_ERR_CONFIGURATION with a detail;
 * - all or nothing: after a failure, no kid named in the input's "keys"
 *   array is configured;
 * - adding an accepted set a second time adds no key and returns HU_OK;
 * - a token for the default key still verifies afterwards.
 */
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fuzz_common.h"
#include "internal.h"

#define FIXED_SECRET "fuzz-fixed-kid-secret-0123456789abcdef-0123456789"

static char token[512];
static size_t token_len;

/* Builds a token for the default key: iss my-app, room lobby, exp in an
 * hour from FUZZ_NOW. */
static void make_token(void)
{
	static const char header[] = "{\"alg\":\"HS256\"}";
	static const char payload[] =
	    "{\"iss\":\"my-app\",\"aud\":\"jitsi\",\"room\":\"lobby\","
	    "\"exp\":1767229200}";
	unsigned char mac[32];
	unsigned int mac_len = 0;

	token_len = hu_b64url_encode((const unsigned char *)header,
	    strlen(header), token);
	token[token_len++] = '.';
	token_len += hu_b64url_encode((const unsigned char *)payload,
	    strlen(payload), token + token_len);
	FUZZ_ASSERT(HMAC(EVP_sha256(), FUZZ_SECRET, (int)strlen(FUZZ_SECRET),
	    (const unsigned char *)token, token_len, mac, &mac_len) != NULL,
	    "HMAC failed");
	token[token_len++] = '.';
	token_len += hu_b64url_encode(mac, mac_len, token + token_len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	make_token();
	return 0;
}

static hu_verifier *new_verifier(void)
{
	hu_verifier *v = hu_verifier_new();

	FUZZ_ASSERT(v != NULL, "out of memory");
	FUZZ_ASSERT(hu_verifier_add_hmac_key(v, NULL, "HS256", FUZZ_SECRET,
	    strlen(FUZZ_SECRET), NULL, 0) == HU_OK, "HS256 key");
	FUZZ_ASSERT(hu_verifier_add_hmac_key(v, "fixed", "HS384", FIXED_SECRET,
	    strlen(FIXED_SECRET), NULL, 0) == HU_OK, "HS384 key");
	FUZZ_ASSERT(hu_verifier_add_issuer(v, FUZZ_APP_ID) == HU_OK, "issuer");
	return v;
}

/* Returns the status of verifying the fixed token with v. */
static hu_status verify_token(const hu_verifier *v)
{
	return hu_verify(v, token, token_len, FUZZ_NOW, NULL, NULL, 0);
}

/* Checks that no kid of the input's keys array is configured in v, for
 * the all-or-nothing rule. */
static void check_no_kid_added(const hu_verifier *v, const uint8_t *data,
    size_t size)
{
	json_t *root = json_loadb((const char *)data, size, 0, NULL);
	json_t *key;
	size_t i;

	json_array_foreach(json_object_get(root, "keys"), i, key) {
		const char *kid = json_string_value(json_object_get(key, "kid"));

		if (kid != NULL && strcmp(kid, "fixed") != 0)
			FUZZ_ASSERT(!hu_verifier_has_kid(v, kid),
			    "a failed key set added kid \"%.40s\"", kid);
	}
	json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char detail[HU_DETAIL_SIZE];
	hu_verifier *v = new_verifier();
	hu_status status, before = verify_token(v);
	size_t added = 12345, again = 12345;

	FUZZ_ASSERT(before == HU_OK, "the fixed token is rejected: %s",
	    hu_strerror(before));
	memset(detail, 'x', sizeof detail);
	status = hu_verifier_add_jwks(v, (const char *)data, size, &added,
	    detail, sizeof detail);
	FUZZ_ASSERT(memchr(detail, '\0', sizeof detail) != NULL,
	    "detail is not terminated");

	if (status == HU_OK) {
		status = hu_verifier_add_jwks(v, (const char *)data, size, &again,
		    detail, sizeof detail);
		FUZZ_ASSERT(status == HU_OK, "the same key set failed the second "
		    "time: %s (%s)", hu_strerror(status), detail);
		FUZZ_ASSERT(again == 0, "the same key set added %zu keys again",
		    again);
	} else {
		FUZZ_ASSERT(status == HU_ERR_CONFIGURATION, "status %s (%s)",
		    hu_strerror(status), detail);
		FUZZ_ASSERT(detail[0] != '\0', "failure without a detail");
		FUZZ_ASSERT(added == 0, "a failed key set reports %zu keys added",
		    added);
		check_no_kid_added(v, data, size);
	}
	FUZZ_ASSERT(hu_verifier_has_kid(v, "fixed"), "the fixed kid is gone");
	FUZZ_ASSERT(verify_token(v) == HU_OK,
	    "the fixed token is rejected after adding a key set");
	hu_verifier_free(v);
	return 0;
}
