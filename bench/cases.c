/*
 * The C operations the bench times: the library's calls, libjwt's decoder
 * and the floors, which are the least work any verifier of the same token
 * must do.
 */

/* The floor uses the SHA-256 context API, deprecated in OpenSSL 3.0, for the
 * same reason csrc/keys.c does: a prepared HMAC state is a plain struct that
 * is copied per call without an allocation. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "bench.h"

long bench_op_hu_verify(void *context, long iterations)
{
	const struct verify_context *c = context;
	char detail[HU_DETAIL_SIZE];
	hu_claims *claims = NULL;
	long i, errors = 0;

	for (i = 0; i < iterations; i++) {
		hu_status status = hu_verify(c->verifier, c->token, c->len, c->now,
		    c->with_claims ? &claims : NULL, detail, sizeof detail);

		if (status != c->expected ||
		    (c->with_claims && status == HU_OK && claims == NULL))
			errors++;
		hu_claims_free(claims);
		claims = NULL;
	}
	return errors;
}

/* Maps a byte to its 6-bit value without checking the alphabet: the floor
 * decodes, it does not validate. */
static unsigned char floor_table[256];

static void floor_table_init(void)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	int i;

	for (i = 0; i < 64; i++)
		floor_table[(unsigned char)alphabet[i]] = (unsigned char)i;
}

static size_t floor_decode(const char *src, size_t len, unsigned char *dst)
{
	const unsigned char *in = (const unsigned char *)src;
	unsigned char *out = dst;
	size_t i;
	uint32_t v;

	for (i = 0; i + 4 <= len; i += 4) {
		v = (uint32_t)floor_table[in[i]] << 18 |
		    (uint32_t)floor_table[in[i + 1]] << 12 |
		    (uint32_t)floor_table[in[i + 2]] << 6 |
		    floor_table[in[i + 3]];
		*out++ = (unsigned char)(v >> 16);
		*out++ = (unsigned char)(v >> 8);
		*out++ = (unsigned char)v;
	}
	if (len - i == 2) {
		v = (uint32_t)floor_table[in[i]] << 6 | floor_table[in[i + 1]];
		*out++ = (unsigned char)(v >> 4);
	} else if (len - i == 3) {
		v = (uint32_t)floor_table[in[i]] << 12 |
		    (uint32_t)floor_table[in[i + 1]] << 6 | floor_table[in[i + 2]];
		*out++ = (unsigned char)(v >> 10);
		*out++ = (unsigned char)(v >> 2);
	}
	return (size_t)(out - dst);
}

struct hs_floor_context {
	SHA256_CTX inner, outer;
	const char *token;
	size_t len;
	int hmac_only;
	unsigned char buffer[];      /* decoded segments */
};

struct hs_floor_context *bench_hs_floor_new(const unsigned char *secret,
    size_t secret_len, const char *token, int hmac_only)
{
	size_t len = strlen(token), i;
	struct hs_floor_context *c = malloc(sizeof *c + len);
	unsigned char block[64] = { 0 };

	if (c == NULL || secret_len > sizeof block) {
		free(c);
		return NULL;
	}
	floor_table_init();
	c->token = token;
	c->len = len;
	c->hmac_only = hmac_only;

	memcpy(block, secret, secret_len);
	for (i = 0; i < sizeof block; i++)
		block[i] ^= 0x36;
	SHA256_Init(&c->inner);
	SHA256_Update(&c->inner, block, sizeof block);
	for (i = 0; i < sizeof block; i++)
		block[i] ^= 0x36 ^ 0x5c;
	SHA256_Init(&c->outer);
	SHA256_Update(&c->outer, block, sizeof block);
	return c;
}

void bench_hs_floor_free(struct hs_floor_context *c)
{
	free(c);
}

long bench_op_hs_floor(void *context, long iterations)
{
	struct hs_floor_context *c = context;
	const char *token = c->token, *first, *second;
	unsigned char tag[32], *signature;
	size_t signature_len;
	SHA256_CTX ctx;
	long i, errors = 0;

	for (i = 0; i < iterations; i++) {
		first = memchr(token, '.', c->len);
		second = memchr(first + 1, '.', c->len - (size_t)(first + 1 - token));
		if (c->hmac_only) {
			signature = c->buffer;
			signature_len = floor_decode(second + 1,
			    c->len - (size_t)(second + 1 - token), signature);
		} else {
			size_t header_len = floor_decode(token,
			    (size_t)(first - token), c->buffer);
			size_t payload_len = floor_decode(first + 1,
			    (size_t)(second - first - 1), c->buffer + header_len);

			signature = c->buffer + header_len + payload_len;
			signature_len = floor_decode(second + 1,
			    c->len - (size_t)(second + 1 - token), signature);
		}

		ctx = c->inner;
		SHA256_Update(&ctx, token, (size_t)(second - token));
		SHA256_Final(tag, &ctx);
		ctx = c->outer;
		SHA256_Update(&ctx, tag, sizeof tag);
		SHA256_Final(tag, &ctx);
		if (signature_len != sizeof tag ||
		    CRYPTO_memcmp(tag, signature, sizeof tag) != 0)
			errors++;
	}
	return errors;
}

struct pkey_floor_context {
	EVP_PKEY *pkey;
	EVP_PKEY_CTX *prepared;      /* set up once when prepared is requested */
	const unsigned char *msg;
	size_t msg_len;
	unsigned char sig[600];
	size_t sig_len;
};

struct pkey_floor_context *bench_pkey_floor_new(EVP_PKEY *pkey,
    const char *token, int is_ecdsa, int prepared)
{
	struct pkey_floor_context *c = calloc(1, sizeof *c);
	const char *dot = strrchr(token, '.');
	unsigned char raw[600];
	size_t raw_len;

	if (c == NULL)
		return NULL;
	floor_table_init();
	c->pkey = pkey;
	c->msg = (const unsigned char *)token;
	c->msg_len = (size_t)(dot - token);
	raw_len = floor_decode(dot + 1, strlen(dot + 1), raw);

	if (is_ecdsa) {
		ECDSA_SIG *sig = ECDSA_SIG_new();
		BIGNUM *r = BN_bin2bn(raw, (int)raw_len / 2, NULL);
		BIGNUM *s = BN_bin2bn(raw + raw_len / 2, (int)raw_len / 2, NULL);
		unsigned char *der = c->sig;
		int der_len;

		ECDSA_SIG_set0(sig, r, s);
		der_len = i2d_ECDSA_SIG(sig, &der);
		ECDSA_SIG_free(sig);
		c->sig_len = der_len > 0 ? (size_t)der_len : 0;
	} else {
		memcpy(c->sig, raw, raw_len);
		c->sig_len = raw_len;
	}

	if (prepared) {
		c->prepared = EVP_PKEY_CTX_new(pkey, NULL);
		if (c->prepared == NULL || EVP_PKEY_verify_init(c->prepared) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(c->prepared, EVP_sha256()) != 1) {
			bench_pkey_floor_free(c);
			return NULL;
		}
	}
	return c;
}

void bench_pkey_floor_free(struct pkey_floor_context *c)
{
	if (c == NULL)
		return;
	EVP_PKEY_CTX_free(c->prepared);
	free(c);
}

long bench_op_pkey_floor(void *context, long iterations)
{
	struct pkey_floor_context *c = context;
	unsigned char digest[32];
	long i, errors = 0;
	int rc;

	for (i = 0; i < iterations; i++) {
		if (c->prepared != NULL) {
			SHA256(c->msg, c->msg_len, digest);
			rc = EVP_PKEY_verify(c->prepared, c->sig, c->sig_len, digest,
			    sizeof digest);
		} else {
			EVP_MD_CTX *ctx = EVP_MD_CTX_new();

			rc = ctx != NULL &&
			    EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, c->pkey) == 1 ?
			    EVP_DigestVerify(ctx, c->sig, c->sig_len, c->msg, c->msg_len) : -1;
			EVP_MD_CTX_free(ctx);
		}
		if (rc != 1)
			errors++;
	}
	return errors;
}

long bench_op_libjwt_decode(void *context, long iterations)
{
	const struct libjwt_context *c = context;
	long i, errors = 0;

	for (i = 0; i < iterations; i++) {
		jwt_t *jwt = NULL;

		if (jwt_decode(&jwt, c->token, c->key, c->key_len) != 0)
			errors++;
		jwt_free(jwt);
	}
	return errors;
}

long bench_op_hu_issue(void *context, long iterations)
{
	const struct issue_context *c = context;
	char detail[HU_DETAIL_SIZE];
	long i, errors = 0;

	for (i = 0; i < iterations; i++) {
		char *token = NULL;

		if (hu_issue(c->issuer, c->request, c->now, &token, detail,
		        sizeof detail) != HU_OK)
			errors++;
		hu_free(token);
	}
	return errors;
}

long bench_op_sign_floor(void *context, long iterations)
{
	const struct sign_floor_context *c = context;
	unsigned char sig[600];
	long i, errors = 0;

	for (i = 0; i < iterations; i++) {
		if (c->pkey == NULL) {
			unsigned int sig_len = sizeof sig;

			if (HMAC(EVP_sha256(), c->secret, (int)c->secret_len,
			        (const unsigned char *)c->input, c->input_len, sig,
			        &sig_len) == NULL)
				errors++;
		} else {
			EVP_MD_CTX *ctx = EVP_MD_CTX_new();
			size_t sig_len = sizeof sig;

			if (ctx == NULL ||
			    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, c->pkey) != 1 ||
			    EVP_DigestSign(ctx, sig, &sig_len,
			        (const unsigned char *)c->input, c->input_len) != 1)
				errors++;
			EVP_MD_CTX_free(ctx);
		}
	}
	return errors;
}
