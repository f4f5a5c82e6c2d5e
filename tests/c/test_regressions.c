/*
 * Regression tests: one function per bug that fuzzing, the sanitizers or
 * the differential check found, each with the input that showed it.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "harness.h"
#include "huddleup/token.h"

#define NOW 1767225600
#define SECRET "regression-test-secret-0123456789abcdef"
#define APP_ID "regression-app"

static hu_issuer *new_issuer(void)
{
	hu_issuer *issuer = NULL;
	char detail[HU_DETAIL_SIZE] = "";

	CHECK_MSG(hu_issuer_new_hmac(&issuer, "HS256", APP_ID, SECRET,
	    strlen(SECRET), detail, sizeof detail) == HU_OK, detail);
	return issuer;
}

static hu_verifier *new_verifier(void)
{
	hu_verifier *v = hu_verifier_new();

	CHECK(v != NULL);
	CHECK(hu_verifier_add_hmac_key(v, NULL, "HS256", SECRET, strlen(SECRET),
	    NULL, 0) == HU_OK);
	CHECK(hu_verifier_add_issuer(v, APP_ID) == HU_OK);
	return v;
}

/*
 * fuzz_issue: hu_issue() accepted a room of 1024 bytes, which the verifier
 * rejects as invalid-room-claim (a room is a JID localpart, at most 1023
 * bytes), so the issuer handed out a token that could never be used.
 */
static void test_issue_room_length_matches_verifier(void)
{
	static char room[1025];
	hu_issuer *issuer = new_issuer();
	hu_verifier *v = new_verifier();
	hu_token_request request = { 0 };
	char detail[HU_DETAIL_SIZE] = "";
	char *token = NULL;
	hu_status status;

	memset(room, 'r', 1024);
	room[1024] = '\0';
	request.room = room;
	status = hu_issue(issuer, &request, NOW, &token, detail, sizeof detail);
	CHECK_MSG(status == HU_ERR_INVALID_ARGUMENT, hu_strerror(status));
	CHECK(token == NULL);
	CHECK(strstr(detail, "1023") != NULL);

	room[1023] = '\0';
	status = hu_issue(issuer, &request, NOW, &token, detail, sizeof detail);
	CHECK_MSG(status == HU_OK, detail);
	if (token != NULL) {
		status = hu_verify(v, token, strlen(token), NOW, NULL, detail,
		    sizeof detail);
		CHECK_MSG(status == HU_OK, detail);
	}
	hu_free(token);
	hu_verifier_free(v);
	hu_issuer_free(issuer);
}

/* Appends the unpadded base64url form of data to out, which has room. */
static size_t append_base64url(char *out, const void *data, size_t len)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *in = data;
	size_t i, written = 0;

	for (i = 0; i < len; i += 3) {
		unsigned long v = (unsigned long)in[i] << 16;

		if (i + 1 < len)
			v |= (unsigned long)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[written++] = alphabet[v >> 18 & 63];
		out[written++] = alphabet[v >> 12 & 63];
		if (i + 1 < len)
			out[written++] = alphabet[v >> 6 & 63];
		if (i + 2 < len)
			out[written++] = alphabet[v & 63];
	}
	return written;
}

/* Signs header and payload (len bytes each, NUL bytes allowed) with SECRET
 * into token; returns the token's length. */
static size_t sign_hs256(char *token, const char *header, size_t header_len,
    const char *payload, size_t payload_len)
{
	unsigned char mac[32];
	unsigned int mac_len = 0;
	size_t len;

	len = append_base64url(token, header, header_len);
	token[len++] = '.';
	len += append_base64url(token + len, payload, payload_len);
	HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (unsigned char *)token,
	    len, mac, &mac_len);
	token[len++] = '.';
	len += append_base64url(token + len, mac, mac_len);
	return len;
}

/*
 * fuzz_claims: jansson 2.14 drops a NUL byte that directly follows a number
 * or a literal, so {"exp":1767229200<NUL>} reads as {"exp":1767229200}. The
 * verifier must reject any NUL in the payload as invalid-json, whatever
 * jansson makes of it.
 */
static void test_payload_nul_after_number(void)
{
	static const char header[] = "{\"alg\":\"HS256\"}";
	static const char clean[] =
	    "{\"iss\":\"" APP_ID "\",\"aud\":\"jitsi\",\"room\":\"r\","
	    "\"exp\":1767229200}";
	static const char after_number[] =
	    "{\"iss\":\"" APP_ID "\",\"aud\":\"jitsi\",\"room\":\"r\","
	    "\"exp\":1767229200\0}";
	static const char after_literal[] =
	    "{\"iss\":\"" APP_ID "\",\"aud\":\"jitsi\",\"room\":\"r\","
	    "\"moderator\":true\0,\"exp\":1767229200}";
	hu_verifier *v = new_verifier();
	char token[512], detail[HU_DETAIL_SIZE] = "";
	size_t len;
	hu_status status;

	len = sign_hs256(token, header, strlen(header), clean, sizeof clean - 1);
	status = hu_verify(v, token, len, NOW, NULL, detail, sizeof detail);
	CHECK_MSG(status == HU_OK, detail);

	len = sign_hs256(token, header, strlen(header), after_number,
	    sizeof after_number - 1);
	status = hu_verify(v, token, len, NOW, NULL, detail, sizeof detail);
	CHECK_MSG(status == HU_ERR_INVALID_JSON, hu_strerror(status));

	len = sign_hs256(token, header, strlen(header), after_literal,
	    sizeof after_literal - 1);
	status = hu_verify(v, token, len, NOW, NULL, detail, sizeof detail);
	CHECK_MSG(status == HU_ERR_INVALID_JSON, hu_strerror(status));
	hu_verifier_free(v);
}

/* Adds a one-key JWK Set with modulus n (base64url) to a new verifier
 * attempts times. Returns how many attempts succeeded. */
static int count_jwks_loads(const char *n, int attempts)
{
	char jwks[1024], detail[HU_DETAIL_SIZE];
	int i, loaded = 0;

	snprintf(jwks, sizeof jwks,
	    "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k\",\"n\":\"%s\","
	    "\"e\":\"AQAB\"}]}", n);
	for (i = 0; i < attempts; i++) {
		hu_verifier *v = hu_verifier_new();

		if (hu_verifier_add_jwks(v, jwks, strlen(jwks), NULL, detail,
		        sizeof detail) == HU_OK)
			loaded++;
		hu_verifier_free(v);
	}
	return loaded;
}

/*
 * fuzz_jwks: an RSA modulus that is odd and has no small factor but is not
 * the product of two large primes loaded on most attempts and failed on a
 * few, because OpenSSL 3.0's public-key check runs Miller-Rabin with random
 * bases. The outcome must not depend on chance.
 */
static void test_rsa_modulus_check_is_deterministic(void)
{
	/* The fuzzer's modulus: a 2048-bit RSA test modulus with a few bytes
	 * changed. */
	static const char odd_composite[] =
	    "yIJnPRw4PRD2-fqKFAHIgHk5XzivMDQ3wTpffJ4xd4ETSHZk1xW0I2sjcFngmaEd"
	    "Pc57GsO_RtVuAv-p08ipFNNpPsy8bJ4ybS3pGd9hpZMDSqgYvRL2Ie1k6EtuadA0"
	    "NTNg_kmJY0y5OGGEdoR3wt5cPqMnxDAiAS2phumw8MQghJu0xp1g705cCxNJV1SP"
	    "o4Ap961I6cJzBJARsWgJ3NSg-Ybd3Me8WOp2YM6Wp9nx458lW_vGHJRfQKAlafmZ"
	    "l23Rgqbilww_ZHYxyPy6Efy1v-L5rOGo62E_yt_mnTxYGTa9uPr6AOirW9on4qj9"
	    "XXWNApSxoYERAFpzOLmp3Q";
	unsigned char all_ones[256];
	char multiple_of_three[400];
	int attempts = 1000; /* the old check failed about 1 in 100 */

	CHECK(count_jwks_loads(odd_composite, attempts) == attempts);

	/* 2^2048 - 1 is odd and divisible by 3. */
	memset(all_ones, 0xff, sizeof all_ones);
	multiple_of_three[append_base64url(multiple_of_three, all_ones,
	    sizeof all_ones)] = '\0';
	CHECK(count_jwks_loads(multiple_of_three, attempts) == 0);
}

int main(void)
{
	test_issue_room_length_matches_verifier();
	test_payload_nul_after_number();
	test_rsa_modulus_check_is_deterministic();
	return hu_test_finish("test_regressions");
}
