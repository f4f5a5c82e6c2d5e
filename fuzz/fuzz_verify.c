/*
 * The whole verifier on arbitrary bytes, through two verifiers. The strict
 * one has the defaults and one HS256 key. The permissive one has several
 * keys selected by kid, accepts any issuer and audience, and has the
 * largest size limit, so that long tokens take the heap path instead of
 * the stack buffer. Each result must be HU_OK with claims, or a rejection
 * with a detail, and never another status. hu_peek_kid() reads the same
 * bytes and must return a terminated kid of at most 256 bytes or one of
 * its documented rejections.
 */
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "fuzz_common.h"
#include "huddleup/token.h"

static hu_verifier *strict_verifier;
static hu_verifier *permissive_verifier;

static char *public_pem(EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *pem = NULL;
	long len;

	if (bio != NULL && PEM_write_bio_PUBKEY(bio, key) == 1 &&
	    (len = BIO_get_mem_data(bio, &data)) > 0 &&
	    (pem = malloc((size_t)len + 1)) != NULL) {
		memcpy(pem, data, (size_t)len);
		pem[len] = '\0';
	}
	BIO_free(bio);
	return pem;
}

static void add_public_key(hu_verifier *v, const char *kid, const char *alg,
    EVP_PKEY *key)
{
	char detail[HU_DETAIL_SIZE] = "";
	char *pem = public_pem(key);
	hu_status status;

	FUZZ_ASSERT(pem != NULL, "cannot write the %s public key", alg);
	status = hu_verifier_add_public_key_pem(v, kid, alg, pem, strlen(pem),
	    detail, sizeof detail);
	FUZZ_ASSERT(status == HU_OK, "%s key: %s", alg, detail);
	free(pem);
	EVP_PKEY_free(key);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char other_secret[] = "fuzz-kid-secret-0123456789abcdef-0123456789";
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
	FUZZ_ASSERT(hu_verifier_add_hmac_key(v, "hs512", "HS512", other_secret,
	    strlen(other_secret), NULL, 0) == HU_OK, "HS512 key");
	add_public_key(v, "es256", "ES256", EVP_EC_gen("P-256"));
	add_public_key(v, "es384", "ES384", EVP_EC_gen("P-384"));
	add_public_key(v, "rs256", "RS256", EVP_RSA_gen(2048));
	FUZZ_ASSERT(hu_verifier_add_issuer(v, "*") == HU_OK, "issuer");
	FUZZ_ASSERT(hu_verifier_add_audience(v, "*") == HU_OK, "audience");
	FUZZ_ASSERT(hu_verifier_set_require_room(v, 0) == HU_OK, "room");
	FUZZ_ASSERT(hu_verifier_set_max_size(v, 65536) == HU_OK, "size");
	FUZZ_ASSERT(hu_verifier_set_leeway(v, 0) == HU_OK, "leeway");
	return 0;
}

/* Reads every accessor of accepted claims. */
static void use_claims(const hu_claims *claims, const uint8_t *data,
    size_t size)
{
	static const char *const paths[] = {
		"iss", "aud", "sub", "room", "context.user.name",
		"context.user.affiliation", "context.group", "context.user",
		"exp", "a.b.c.d.e.f",
	};
	const char *json = hu_claims_json(claims);
	size_t i, len;

	FUZZ_ASSERT(json != NULL && json[0] == '{', "claims JSON");
	for (i = 0; i < sizeof paths / sizeof *paths; i++) {
		const char *value = hu_claims_get_string(claims, paths[i], &len);

		FUZZ_ASSERT(value == NULL || strlen(value) == len,
		    "%s has an embedded NUL", paths[i]);
	}
	FUZZ_ASSERT(hu_claims_is_moderator(claims) == 0 ||
	    hu_claims_is_moderator(claims) == 1, "moderator flag");
	(void)hu_claims_exp(claims);
	/* The input itself as a room name, from a buffer of exact size. */
	(void)hu_claims_check_room(claims, (const char *)data,
	    size < 2048 ? size : 2048);
}

static void verify_with(const hu_verifier *v, const uint8_t *data,
    size_t size)
{
	char detail[HU_DETAIL_SIZE];
	hu_claims *claims = NULL;
	hu_status status;

	memset(detail, 'x', sizeof detail);
	status = hu_verify(v, (const char *)data, size, FUZZ_NOW, &claims,
	    detail, sizeof detail);
	FUZZ_ASSERT(memchr(detail, '\0', sizeof detail) != NULL,
	    "detail is not terminated");
	if (status == HU_OK) {
		FUZZ_ASSERT(claims != NULL, "HU_OK without claims");
		use_claims(claims, data, size);
		hu_claims_free(claims);
		return;
	}
	FUZZ_ASSERT(claims == NULL, "claims with %s", hu_strerror(status));
	FUZZ_ASSERT(hu_status_is_rejection(status), "status %s (%s)",
	    hu_strerror(status), detail);
	FUZZ_ASSERT(detail[0] != '\0', "%s without a detail",
	    hu_strerror(status));
}

static void peek_kid(const uint8_t *data, size_t size)
{
	char kid[HU_KID_SIZE + 1];
	hu_status status;

	kid[HU_KID_SIZE] = 'x'; /* must stay untouched */
	status = hu_peek_kid((const char *)data, size, kid, HU_KID_SIZE);
	FUZZ_ASSERT(kid[HU_KID_SIZE] == 'x', "kid written past its size");
	if (status == HU_OK) {
		FUZZ_ASSERT(memchr(kid, '\0', HU_KID_SIZE) != NULL,
		    "kid is not terminated");
		return;
	}
	FUZZ_ASSERT(status == HU_ERR_TOKEN_TOO_LARGE ||
	    status == HU_ERR_INVALID_ENCODING ||
	    status == HU_ERR_UNSUPPORTED_HEADER,
	    "hu_peek_kid returned %s", hu_strerror(status));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	verify_with(strict_verifier, data, size);
	verify_with(permissive_verifier, data, size);
	peek_kid(data, size);
	return 0;
}
