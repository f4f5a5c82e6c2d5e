/*
 * Unit tests of the verifier's C API with tokens signed here through
 * OpenSSL: argument misuse, key selection by kid, HS/RS/ES algorithms, the
 * binding of each key to one algorithm family, the key policy, tokens above
 * the default size, JWK sets with rotation, hu_peek_kid() and
 * hu_asap_key_name().
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "harness.h"
#include "internal.h"

#define NOW 1767225600.0
#define APP_ID "verify-app"

static const char secret_a[] = "verify-test-secret-a-0123456789abcdef";
static const char secret_b[] = "verify-test-secret-b-0123456789abcdef";

/* A claim set that the verifiers below accept at NOW. */
static const char payload[] =
    "{\"iss\":\"verify-app\",\"aud\":\"jitsi\",\"sub\":\"meet.example.com\","
    "\"room\":\"lobby\",\"iat\":1767225600,\"nbf\":1767225590,"
    "\"exp\":1767229200,\"context\":{\"user\":{\"name\":\"Alice\"}}}";

/* ---------------------------------------------------------------------
 * Keys and tokens made with OpenSSL
 * ------------------------------------------------------------------- */

static EVP_PKEY *generate_rsa(int bits, unsigned long exponent)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	BIGNUM *e = BN_new();
	EVP_PKEY *pkey = NULL;

	if (ctx != NULL && e != NULL && BN_set_word(e, exponent) &&
	    EVP_PKEY_keygen_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) == 1 &&
	    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) == 1 &&
	    EVP_PKEY_keygen(ctx, &pkey) != 1)
		pkey = NULL;
	BN_free(e);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

static EVP_PKEY *generate_ec(const char *curve)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
}

/* Returns the PEM text of pkey's public (or private) key, from malloc. */
static char *key_pem(EVP_PKEY *pkey, int private_key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *copy = NULL;
	long len;
	int ok;

	if (bio == NULL)
		return NULL;
	ok = private_key ?
	    PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) :
	    PEM_write_bio_PUBKEY(bio, pkey);
	len = BIO_get_mem_data(bio, &data);
	if (ok && len > 0 && (copy = malloc((size_t)len + 1)) != NULL) {
		memcpy(copy, data, (size_t)len);
		copy[len] = '\0';
	}
	BIO_free(bio);
	return copy;
}

/* Returns the base64url form of len bytes, from malloc. */
static char *b64url(const void *data, size_t len)
{
	char *out = malloc(len / 3 * 4 + 5);

	if (out != NULL)
		hu_b64url_encode(data, len, out);
	return out;
}

/* Returns the base64url form of a big-endian BIGNUM parameter of pkey,
 * padded to pad bytes (0: minimal length), from malloc. */
static char *b64url_bn_param(EVP_PKEY *pkey, const char *name, int pad)
{
	BIGNUM *bn = NULL;
	unsigned char bytes[1024];
	char *out = NULL;
	int len;

	if (!EVP_PKEY_get_bn_param(pkey, name, &bn))
		return NULL;
	len = pad > 0 ? BN_bn2binpad(bn, bytes, pad) : BN_bn2bin(bn, bytes);
	if (len > 0)
		out = b64url(bytes, (size_t)len);
	BN_free(bn);
	return out;
}

/* Returns the JWK of pkey's public key with the given kid and extra
 * members (a JSON fragment starting with ',' or ""), from malloc. */
static char *public_jwk(EVP_PKEY *pkey, const char *kid, const char *extra)
{
	char *a, *b, *jwk = malloc(4096);

	if (jwk == NULL)
		return NULL;
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
		a = b64url_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, 0);
		b = b64url_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, 0);
		snprintf(jwk, 4096, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"%s}",
		    kid, a ? a : "", b ? b : "", extra);
	} else {
		int half = (EVP_PKEY_get_bits(pkey) + 7) / 8;

		a = b64url_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, half);
		b = b64url_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, half);
		snprintf(jwk, 4096,
		    "{\"kty\":\"EC\",\"kid\":\"%s\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"%s}",
		    kid, half == 32 ? "P-256" : "P-384", a ? a : "", b ? b : "", extra);
	}
	free(a);
	free(b);
	return jwk;
}

/* Returns base64url(header) "." base64url(payload), from malloc. */
static char *signing_input(const char *header, const char *claims)
{
	char *h = b64url(header, strlen(header));
	char *p = b64url(claims, strlen(claims));
	char *input = NULL;

	if (h != NULL && p != NULL && (input = malloc(strlen(h) + strlen(p) + 2)) != NULL)
		sprintf(input, "%s.%s", h, p);
	free(h);
	free(p);
	return input;
}

/* Appends "." and the base64url signature to input (freed here); returns
 * the token from malloc. */
static char *append_signature(char *input, const unsigned char *sig, size_t sig_len)
{
	char *s = b64url(sig, sig_len);
	char *token = NULL;

	if (input != NULL && s != NULL &&
	    (token = malloc(strlen(input) + strlen(s) + 2)) != NULL)
		sprintf(token, "%s.%s", input, s);
	free(input);
	free(s);
	return token;
}

static char *hmac_token(const char *header, const char *claims, const EVP_MD *md,
    const char *secret)
{
	char *input = signing_input(header, claims);
	unsigned char tag[EVP_MAX_MD_SIZE];
	unsigned int tag_len = 0;

	if (input == NULL)
		return NULL;
	HMAC(md, secret, (int)strlen(secret), (const unsigned char *)input,
	    strlen(input), tag, &tag_len);
	return append_signature(input, tag, tag_len);
}

/* How a test token carries an ECDSA signature. */
enum ec_form {
	EC_FORM_JWS, /* r || s, as JWS requires */
	EC_FORM_DER  /* OpenSSL's DER ECDSA-Sig-Value, which JWS forbids */
};

/* Converts a DER ECDSA signature to r || s of half bytes each. */
static size_t ecdsa_der_to_jws(const unsigned char *der, size_t der_len,
    size_t half, unsigned char *out)
{
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &der, (long)der_len);
	size_t written = 0;

	if (sig != NULL &&
	    BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, (int)half) == (int)half &&
	    BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + half, (int)half) == (int)half)
		written = 2 * half;
	ECDSA_SIG_free(sig);
	return written;
}

static char *pkey_token(const char *header, const char *claims, const EVP_MD *md,
    EVP_PKEY *pkey, enum ec_form form)
{
	char *input = signing_input(header, claims);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char sig[1024], jws_sig[132];
	size_t sig_len = sizeof sig;
	int signed_ok;

	signed_ok = input != NULL && ctx != NULL &&
	    EVP_DigestSignInit(ctx, NULL, md, NULL, pkey) == 1 &&
	    EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)input,
	        strlen(input)) == 1;
	EVP_MD_CTX_free(ctx);
	if (!signed_ok) {
		free(input);
		return NULL;
	}
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC && form == EC_FORM_JWS) {
		size_t half = (size_t)(EVP_PKEY_get_bits(pkey) + 7) / 8;
		size_t jws_len = ecdsa_der_to_jws(sig, sig_len, half, jws_sig);

		return append_signature(input, jws_sig, jws_len);
	}
	return append_signature(input, sig, sig_len);
}

/* ---------------------------------------------------------------------
 * Verifier helpers
 * ------------------------------------------------------------------- */

/* Returns a verifier that accepts APP_ID and has no key. */
static hu_verifier *new_verifier(void)
{
	hu_verifier *v = hu_verifier_new();

	if (v != NULL && hu_verifier_add_issuer(v, APP_ID) != HU_OK) {
		hu_verifier_free(v);
		return NULL;
	}
	return v;
}

/* Verifies token at NOW and returns the status; frees the claims. */
static hu_status verify_at_now(const hu_verifier *v, const char *token)
{
	hu_claims *claims = NULL;
	char detail[HU_DETAIL_SIZE];
	hu_status status;

	if (token == NULL)
		return HU_ERR_INTERNAL;
	status = hu_verify(v, token, strlen(token), NOW, &claims, detail, sizeof detail);
	if ((status == HU_OK) != (claims != NULL))
		status = HU_ERR_INTERNAL;
	hu_claims_free(claims);
	return status;
}

static hu_status add_pem(hu_verifier *v, const char *kid, const char *alg,
    EVP_PKEY *pkey, char *detail)
{
	char *pem = key_pem(pkey, 0);
	hu_status status;

	if (pem == NULL)
		return HU_ERR_INTERNAL;
	status = hu_verifier_add_public_key_pem(v, kid, alg, pem, strlen(pem), detail,
	    HU_DETAIL_SIZE);
	free(pem);
	return status;
}

static int starts_with(const char *text, const char *prefix)
{
	return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* Key pairs shared by the tests; generating RSA keys is slow. */
static EVP_PKEY *rsa_key, *rsa_key_2, *p256_key, *p256_key_2, *p384_key;

/* ---------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------- */

static void test_argument_misuse(void)
{
	hu_verifier *v = new_verifier();
	hu_verifier *empty = new_verifier();
	hu_verifier *no_issuer = hu_verifier_new();
	char *token = hmac_token("{\"alg\":\"HS256\"}", payload, EVP_sha256(), secret_a);
	hu_claims *claims = (hu_claims *)&claims; /* must be reset to NULL */
	char detail[HU_DETAIL_SIZE], kid[HU_KID_SIZE], name[HU_ASAP_KEY_NAME_SIZE];
	char long_kid[HU_KID_SIZE + 1];
	char *unterminated, *with_tail;
	size_t len = token ? strlen(token) : 0;
	hu_status status;

	CHECK(v != NULL);
	CHECK(empty != NULL);
	CHECK(no_issuer != NULL);
	CHECK(token != NULL);
	CHECK(hu_verifier_add_hmac_key(v, NULL, "HS256", secret_a, strlen(secret_a),
	    detail, sizeof detail) == HU_OK);
	CHECK(hu_verifier_add_hmac_key(no_issuer, NULL, "HS256", secret_a,
	    strlen(secret_a), detail, sizeof detail) == HU_OK);

	CHECK(hu_verify(NULL, token, len, NOW, &claims, detail, sizeof detail) ==
	    HU_ERR_INVALID_ARGUMENT);
	CHECK(claims == NULL);
	CHECK(hu_verify(v, NULL, 10, NOW, NULL, detail, sizeof detail) ==
	    HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verify(v, NULL, 0, NOW, NULL, detail, sizeof detail) ==
	    HU_ERR_INVALID_ENCODING);
	CHECK(hu_verify(v, token, 0, NOW, NULL, detail, sizeof detail) ==
	    HU_ERR_INVALID_ENCODING);
	CHECK(hu_verify(v, token, len, NAN, NULL, detail, sizeof detail) ==
	    HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verify(v, token, len, INFINITY, NULL, detail, sizeof detail) ==
	    HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verify(empty, token, len, NOW, NULL, detail, sizeof detail) ==
	    HU_ERR_CONFIGURATION);
	CHECK(hu_verify(no_issuer, token, len, NOW, NULL, detail, sizeof detail) ==
	    HU_ERR_CONFIGURATION);
	CHECK(hu_verify(v, token, len, NOW, NULL, NULL, 0) == HU_OK);
	status = hu_verify(v, token, len - 1, NOW, NULL, NULL, 0);
	CHECK(status == HU_ERR_SIGNATURE_MISMATCH || status == HU_ERR_INVALID_ENCODING);

	/* An explicit length over a buffer without a terminator, and over a
	 * buffer with bytes after the token: only len bytes count. */
	unterminated = malloc(len);
	with_tail = malloc(len + 8);
	CHECK(unterminated != NULL);
	CHECK(with_tail != NULL);
	if (unterminated != NULL && with_tail != NULL && token != NULL) {
		memcpy(unterminated, token, len);
		memcpy(with_tail, token, len);
		memcpy(with_tail + len, ".garbage", 8);
		CHECK(hu_verify(v, unterminated, len, NOW, NULL, NULL, 0) == HU_OK);
		CHECK(hu_verify(v, with_tail, len, NOW, NULL, NULL, 0) == HU_OK);
		CHECK(hu_verify(v, with_tail, len + 8, NOW, NULL, NULL, 0) ==
		    HU_ERR_INVALID_ENCODING);
		CHECK(hu_peek_kid(unterminated, len, kid, sizeof kid) == HU_OK);
	}
	free(unterminated);
	free(with_tail);

	/* The key calls. */
	CHECK(hu_verifier_add_jwk(NULL, "{}", 2, detail, sizeof detail) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_add_jwk(v, NULL, 2, detail, sizeof detail) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_add_jwks(NULL, "{}", 2, NULL, detail, sizeof detail) ==
	    HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_add_jwks(v, NULL, 2, NULL, NULL, 0) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_add_public_key_pem(v, "k", "RS256", NULL, 0, NULL, 0) ==
	    HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_remove_key(NULL, "k") == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_has_kid(NULL, "k") == 0);
	CHECK(hu_peek_kid(NULL, 5, kid, sizeof kid) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_peek_kid(token, len, NULL, sizeof kid) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_peek_kid(token, len, kid, HU_KID_SIZE - 1) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_asap_key_name(NULL, name) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_asap_key_name("", name) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_asap_key_name("k", NULL) == HU_ERR_INVALID_ARGUMENT);
	memset(long_kid, 'k', sizeof long_kid - 1);
	long_kid[sizeof long_kid - 1] = '\0';
	CHECK(hu_asap_key_name(long_kid, name) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_add_hmac_key(v, long_kid, "HS256", secret_b, strlen(secret_b),
	    detail, sizeof detail) == HU_ERR_CONFIGURATION);
	CHECK(hu_verifier_add_hmac_key(v, "", "HS256", secret_b, strlen(secret_b),
	    detail, sizeof detail) == HU_ERR_CONFIGURATION);
	hu_verifier_free(NULL);

	free(token);
	hu_verifier_free(v);
	hu_verifier_free(empty);
	hu_verifier_free(no_issuer);
}

static void test_kid_selection(void)
{
	hu_verifier *single = new_verifier();
	hu_verifier *mixed = new_verifier();
	hu_verifier *kids_only = new_verifier();
	char detail[HU_DETAIL_SIZE];
	char *plain_a = hmac_token("{\"alg\":\"HS256\"}", payload, EVP_sha256(), secret_a);
	char *kid_x_a = hmac_token("{\"alg\":\"HS256\",\"kid\":\"x\"}", payload,
	    EVP_sha256(), secret_a);
	char *kid_b_b = hmac_token("{\"alg\":\"HS256\",\"kid\":\"key-b\"}", payload,
	    EVP_sha256(), secret_b);
	char *kid_b_a = hmac_token("{\"alg\":\"HS256\",\"kid\":\"key-b\"}", payload,
	    EVP_sha256(), secret_a);
	hu_status status;

	CHECK(single);
	CHECK(mixed);
	CHECK(kids_only);
	CHECK(plain_a);
	CHECK(kid_x_a);
	CHECK(kid_b_b);
	CHECK(kid_b_a);

	/* One key without kid: a token's kid is ignored, as in Jitsi's
	 * shared-secret mode. */
	CHECK(hu_verifier_add_hmac_key(single, NULL, "HS256", secret_a, strlen(secret_a),
	    detail, sizeof detail) == HU_OK);
	CHECK(verify_at_now(single, plain_a) == HU_OK);
	CHECK(verify_at_now(single, kid_x_a) == HU_OK);

	/* A default key and a kid key: each token uses exactly one of them. */
	CHECK(hu_verifier_add_hmac_key(mixed, NULL, "HS256", secret_a, strlen(secret_a),
	    detail, sizeof detail) == HU_OK);
	CHECK(hu_verifier_add_hmac_key(mixed, "key-b", "HS256", secret_b,
	    strlen(secret_b), detail, sizeof detail) == HU_OK);
	CHECK(verify_at_now(mixed, plain_a) == HU_OK);
	CHECK(verify_at_now(mixed, kid_b_b) == HU_OK);
	CHECK(verify_at_now(mixed, kid_b_a) == HU_ERR_SIGNATURE_MISMATCH);
	status = hu_verify(mixed, kid_x_a, strlen(kid_x_a), NOW, NULL, detail, sizeof detail);
	CHECK(status == HU_ERR_UNKNOWN_KEY);
	CHECK(strcmp(hu_strerror(status), "unknown-key") == 0);
	CHECK(hu_verifier_has_kid(mixed, NULL) == 1);
	CHECK(hu_verifier_has_kid(mixed, "key-b") == 1);
	CHECK(hu_verifier_has_kid(mixed, "x") == 0);

	/* A second key under a kid is rejected, and the message names the kid. */
	status = hu_verifier_add_hmac_key(mixed, "key-b", "HS256", secret_a,
	    strlen(secret_a), detail, sizeof detail);
	CHECK(status == HU_ERR_CONFIGURATION);
	CHECK_MSG(strcmp(detail, "key \"key-b\": a key with this kid is already configured") == 0,
	    detail);
	CHECK(hu_verifier_add_hmac_key(mixed, NULL, "HS256", secret_b, strlen(secret_b),
	    detail, sizeof detail) == HU_ERR_CONFIGURATION);

	/* Only kid keys: a token without kid has no key. */
	CHECK(hu_verifier_add_hmac_key(kids_only, "key-b", "HS256", secret_b,
	    strlen(secret_b), detail, sizeof detail) == HU_OK);
	CHECK(verify_at_now(kids_only, plain_a) == HU_ERR_UNKNOWN_KEY);
	CHECK(verify_at_now(kids_only, kid_b_b) == HU_OK);
	CHECK(hu_verifier_has_kid(kids_only, NULL) == 0);

	free(plain_a);
	free(kid_x_a);
	free(kid_b_b);
	free(kid_b_a);
	hu_verifier_free(single);
	hu_verifier_free(mixed);
	hu_verifier_free(kids_only);
}

static void test_hmac_algorithms(void)
{
	hu_verifier *v384 = new_verifier(), *v512 = new_verifier();
	char detail[HU_DETAIL_SIZE];
	char *hs256 = hmac_token("{\"alg\":\"HS256\"}", payload, EVP_sha256(), secret_a);
	char *hs384 = hmac_token("{\"alg\":\"HS384\",\"typ\":\"JWT\"}", payload,
	    EVP_sha384(), secret_a);
	char *hs512 = hmac_token("{\"alg\":\"HS512\"}", payload, EVP_sha512(), secret_a);
	char *hs512_wrong_secret = hmac_token("{\"alg\":\"HS512\"}", payload, EVP_sha512(),
	    secret_b);

	CHECK(v384);
	CHECK(v512);
	CHECK(hs256);
	CHECK(hs384);
	CHECK(hs512);
	CHECK(hs512_wrong_secret);
	CHECK(hu_verifier_add_hmac_key(v384, NULL, "HS384", secret_a, strlen(secret_a),
	    detail, sizeof detail) == HU_OK);
	CHECK(hu_verifier_add_hmac_key(v512, NULL, "HS512", secret_a, strlen(secret_a),
	    detail, sizeof detail) == HU_OK);

	CHECK(verify_at_now(v384, hs384) == HU_OK);
	CHECK(verify_at_now(v512, hs512) == HU_OK);
	CHECK(verify_at_now(v512, hs512_wrong_secret) == HU_ERR_SIGNATURE_MISMATCH);
	CHECK(verify_at_now(v384, hs256) == HU_ERR_UNSUPPORTED_ALGORITHM);
	CHECK(verify_at_now(v384, hs512) == HU_ERR_UNSUPPORTED_ALGORITHM);
	CHECK(verify_at_now(v512, hs384) == HU_ERR_UNSUPPORTED_ALGORITHM);

	free(hs256);
	free(hs384);
	free(hs512);
	free(hs512_wrong_secret);
	hu_verifier_free(v384);
	hu_verifier_free(v512);
}

/* Flips one bit in the middle of the token's signature segment. */
static void tamper_signature(char *token)
{
	char *signature = strrchr(token, '.') + 1;
	size_t middle = strlen(signature) / 2;

	signature[middle] = signature[middle] == 'A' ? 'B' : 'A';
}

static void test_public_key_algorithms(void)
{
	static const struct {
		const char *alg;
		int curve_bits; /* 0 for RSA */
	} cases[] = {
		{"RS256", 0}, {"RS384", 0}, {"RS512", 0}, {"ES256", 256}, {"ES384", 384},
	};
	char detail[HU_DETAIL_SIZE], header[64];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof *cases; i++) {
		const char *alg = cases[i].alg;
		EVP_PKEY *pkey = cases[i].curve_bits == 0 ? rsa_key :
		    cases[i].curve_bits == 256 ? p256_key : p384_key;
		const EVP_MD *md = alg[4] == '6' ? EVP_sha256() :
		    alg[4] == '4' ? EVP_sha384() : EVP_sha512();
		hu_verifier *v = new_verifier();
		char *token, *tampered, *der_token;

		snprintf(header, sizeof header, "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
		token = pkey_token(header, payload, md, pkey, EC_FORM_JWS);
		tampered = pkey_token(header, payload, md, pkey, EC_FORM_JWS);
		der_token = pkey_token(header, payload, md, pkey, EC_FORM_DER);
		CHECK_MSG(v && token && tampered && der_token, alg);
		if (!(v && token && tampered && der_token))
			goto next;

		CHECK_MSG(add_pem(v, NULL, alg, pkey, detail) == HU_OK, detail);
		CHECK_MSG(verify_at_now(v, token) == HU_OK, alg);
		tamper_signature(tampered);
		CHECK_MSG(verify_at_now(v, tampered) == HU_ERR_SIGNATURE_MISMATCH, alg);
		if (cases[i].curve_bits != 0)
			CHECK_MSG(verify_at_now(v, der_token) == HU_ERR_SIGNATURE_MISMATCH, alg);
next:
		free(token);
		free(tampered);
		free(der_token);
		hu_verifier_free(v);
	}
}

static void test_public_key_from_jwk(void)
{
	hu_verifier *v = new_verifier();
	char detail[HU_DETAIL_SIZE];
	char *rsa_jwk = public_jwk(rsa_key, "rsa-1", ",\"use\":\"sig\",\"alg\":\"RS512\"");
	char *ec_jwk = public_jwk(p256_key, "ec-1", ",\"key_ops\":[\"verify\"]");
	char *p384_jwk = public_jwk(p384_key, "ec-2", "");
	char *rs512 = pkey_token("{\"alg\":\"RS512\",\"kid\":\"rsa-1\"}", payload,
	    EVP_sha512(), rsa_key, EC_FORM_JWS);
	char *rs256 = pkey_token("{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", payload,
	    EVP_sha256(), rsa_key, EC_FORM_JWS);
	char *es256 = pkey_token("{\"alg\":\"ES256\",\"kid\":\"ec-1\"}", payload,
	    EVP_sha256(), p256_key, EC_FORM_JWS);
	char *es384 = pkey_token("{\"alg\":\"ES384\",\"kid\":\"ec-2\"}", payload,
	    EVP_sha384(), p384_key, EC_FORM_JWS);

	CHECK(v);
	CHECK(rsa_jwk);
	CHECK(ec_jwk);
	CHECK(p384_jwk);
	CHECK(rs512);
	CHECK(rs256);
	CHECK(es256);
	CHECK(es384);
	if (!(v && rsa_jwk && ec_jwk && p384_jwk))
		goto out;
	CHECK_MSG(hu_verifier_add_jwk(v, rsa_jwk, strlen(rsa_jwk), detail, sizeof detail) ==
	    HU_OK, detail);
	CHECK_MSG(hu_verifier_add_jwk(v, ec_jwk, strlen(ec_jwk), detail, sizeof detail) ==
	    HU_OK, detail);
	CHECK_MSG(hu_verifier_add_jwk(v, p384_jwk, strlen(p384_jwk), detail, sizeof detail) ==
	    HU_OK, detail);
	CHECK(verify_at_now(v, rs512) == HU_OK);
	/* The JWK's alg binds the key: RS256 with the same RSA key is rejected. */
	CHECK(verify_at_now(v, rs256) == HU_ERR_UNSUPPORTED_ALGORITHM);
	CHECK(verify_at_now(v, es256) == HU_OK);
	CHECK(verify_at_now(v, es384) == HU_OK);

	/* The same JWK again changes nothing. */
	CHECK(hu_verifier_add_jwk(v, ec_jwk, strlen(ec_jwk), detail, sizeof detail) == HU_OK);
	CHECK(verify_at_now(v, es256) == HU_OK);

out:
	free(rsa_jwk);
	free(ec_jwk);
	free(p384_jwk);
	free(rs512);
	free(rs256);
	free(es256);
	free(es384);
	hu_verifier_free(v);
}

static void test_algorithm_family_binding(void)
{
	hu_verifier *hmac_only = new_verifier(), *rsa_only = new_verifier();
	hu_verifier *mixed = new_verifier();
	char detail[HU_DETAIL_SIZE];
	char *pem = key_pem(rsa_key, 0);
	char *rs256 = pkey_token("{\"alg\":\"RS256\"}", payload, EVP_sha256(), rsa_key,
	    EC_FORM_JWS);
	char *hs256 = hmac_token("{\"alg\":\"HS256\"}", payload, EVP_sha256(), secret_a);
	/* The classic confusion: an HMAC token keyed with the public key's PEM. */
	char *hs256_pem_key = pem ? hmac_token("{\"alg\":\"HS256\"}", payload, EVP_sha256(),
	    pem) : NULL;
	char *hs256_kid_rsa = hmac_token("{\"alg\":\"HS256\",\"kid\":\"rsa\"}", payload,
	    EVP_sha256(), secret_a);

	CHECK(hmac_only && rsa_only && mixed && pem && rs256 && hs256 && hs256_pem_key &&
	    hs256_kid_rsa);
	if (pem == NULL)
		goto out;
	CHECK(hu_verifier_add_hmac_key(hmac_only, NULL, "HS256", secret_a, strlen(secret_a),
	    detail, sizeof detail) == HU_OK);
	CHECK(add_pem(rsa_only, NULL, "RS256", rsa_key, detail) == HU_OK);

	CHECK(verify_at_now(hmac_only, rs256) == HU_ERR_UNSUPPORTED_ALGORITHM);
	CHECK(verify_at_now(rsa_only, hs256) == HU_ERR_UNSUPPORTED_ALGORITHM);
	CHECK(verify_at_now(rsa_only, hs256_pem_key) == HU_ERR_UNSUPPORTED_ALGORITHM);

	/* A key is loaded for one family only. */
	CHECK(hu_verifier_add_hmac_key(hmac_only, "k", "RS256", pem, strlen(pem), detail,
	    sizeof detail) == HU_ERR_CONFIGURATION);
	CHECK(hu_verifier_add_public_key_pem(rsa_only, "k", "HS256", pem, strlen(pem),
	    detail, sizeof detail) == HU_ERR_CONFIGURATION);

	/* With an HMAC default key and an RSA kid key, neither token form
	 * reaches the other family's key. */
	CHECK(hu_verifier_add_hmac_key(mixed, NULL, "HS256", secret_a, strlen(secret_a),
	    detail, sizeof detail) == HU_OK);
	CHECK(add_pem(mixed, "rsa", "RS256", rsa_key, detail) == HU_OK);
	CHECK(verify_at_now(mixed, hs256) == HU_OK);
	CHECK(verify_at_now(mixed, rs256) == HU_ERR_UNSUPPORTED_ALGORITHM);
	CHECK(verify_at_now(mixed, hs256_kid_rsa) == HU_ERR_UNSUPPORTED_ALGORITHM);

out:
	free(pem);
	free(rs256);
	free(hs256);
	free(hs256_pem_key);
	free(hs256_kid_rsa);
	hu_verifier_free(hmac_only);
	hu_verifier_free(rsa_only);
	hu_verifier_free(mixed);
}

/* Checks that pkey's JWK under kid is rejected with a detail that names the
 * kid and contains reason. */
static void check_jwk_rejected(hu_verifier *v, EVP_PKEY *pkey, const char *kid,
    const char *extra, const char *reason)
{
	char detail[HU_DETAIL_SIZE];
	char *jwk = public_jwk(pkey, kid, extra);

	CHECK_MSG(jwk != NULL, kid);
	if (jwk == NULL)
		return;
	CHECK_MSG(hu_verifier_add_jwk(v, jwk, strlen(jwk), detail, sizeof detail) ==
	    HU_ERR_CONFIGURATION, kid);
	CHECK_MSG(strstr(detail, kid) != NULL, detail);
	CHECK_MSG(strstr(detail, reason) != NULL, detail);
	free(jwk);
}

static void test_key_policy(void)
{
	EVP_PKEY *rsa_1024 = generate_rsa(1024, 65537);
	EVP_PKEY *rsa_e3 = generate_rsa(2048, 3);
	hu_verifier *v = new_verifier();
	char detail[HU_DETAIL_SIZE];
	char *private_pem = key_pem(rsa_key, 1);
	char *both_pem = NULL;

	CHECK(rsa_1024);
	CHECK(rsa_e3);
	CHECK(v);
	CHECK(private_pem);
	if (!(rsa_1024 && rsa_e3 && v && private_pem))
		goto out;

	CHECK(add_pem(v, NULL, "RS256", rsa_1024, detail) == HU_ERR_CONFIGURATION);
	CHECK_MSG(strstr(detail, "1024 bits") != NULL, detail);
	CHECK(add_pem(v, "old-2019", "RS256", rsa_1024, detail) == HU_ERR_CONFIGURATION);
	CHECK_MSG(starts_with(detail, "key \"old-2019\": RSA key has 1024 bits"), detail);
	CHECK(add_pem(v, "e3", "RS256", rsa_e3, detail) == HU_ERR_CONFIGURATION);
	CHECK_MSG(strcmp(detail, "key \"e3\": RSA key's public exponent is not 65537") == 0,
	    detail);
	CHECK(add_pem(v, "p384", "ES256", p384_key, detail) == HU_ERR_CONFIGURATION);
	CHECK_MSG(strstr(detail, "prime256v1") != NULL && strstr(detail, "secp384r1") != NULL,
	    detail);
	CHECK(add_pem(v, "p256", "ES384", p256_key, detail) == HU_ERR_CONFIGURATION);
	CHECK(add_pem(v, "rsa-as-ec", "ES256", rsa_key, detail) == HU_ERR_CONFIGURATION);
	CHECK(add_pem(v, "ec-as-rsa", "RS256", p256_key, detail) == HU_ERR_CONFIGURATION);
	CHECK(add_pem(v, "unknown-alg", "PS256", rsa_key, detail) == HU_ERR_CONFIGURATION);

	/* A private key is rejected, alone or next to a public key. */
	CHECK(hu_verifier_add_public_key_pem(v, "private", "RS256", private_pem,
	    strlen(private_pem), detail, sizeof detail) == HU_ERR_CONFIGURATION);
	CHECK_MSG(strstr(detail, "private key") != NULL, detail);
	both_pem = key_pem(rsa_key, 0);
	if (both_pem != NULL) {
		char *joined = malloc(strlen(both_pem) + strlen(private_pem) + 1);

		if (joined != NULL) {
			sprintf(joined, "%s%s", both_pem, private_pem);
			CHECK(hu_verifier_add_public_key_pem(v, "joined", "RS256", joined,
			    strlen(joined), detail, sizeof detail) == HU_ERR_CONFIGURATION);
			free(joined);
		}
	}
	CHECK(hu_verifier_add_public_key_pem(v, NULL, "RS256", "not a key", 9, detail,
	    sizeof detail) == HU_ERR_CONFIGURATION);

	/* The same policy through JWKs, with messages that name the kid. */
	check_jwk_rejected(v, rsa_1024, "jwk-1024", "", "1024 bits");
	check_jwk_rejected(v, rsa_e3, "jwk-e3", "", "exponent is not 65537");
	check_jwk_rejected(v, p384_key, "jwk-p384", ",\"alg\":\"ES256\"", "does not fit");

	/* Nothing above was added. */
	CHECK(hu_verifier_has_kid(v, NULL) == 0);
	CHECK(hu_verifier_has_kid(v, "old-2019") == 0);
	CHECK(hu_verifier_has_kid(v, "jwk-p384") == 0);

out:
	free(private_pem);
	free(both_pem);
	EVP_PKEY_free(rsa_1024);
	EVP_PKEY_free(rsa_e3);
	hu_verifier_free(v);
}

static void test_large_token(void)
{
	enum { PADDING = 15000 };
	hu_verifier *small = new_verifier(), *large = new_verifier();
	char *claims = malloc(sizeof payload + PADDING + 32);
	char *hs256 = NULL, *rs256 = NULL;

	CHECK(small);
	CHECK(large);
	CHECK(claims);
	if (!(small && large && claims))
		goto out;

	/* {"padding":"xxx...", + the usual claims: about 20 KB once encoded. */
	strcpy(claims, "{\"padding\":\"");
	memset(claims + strlen(claims), 'x', PADDING);
	strcpy(claims + 12 + PADDING, "\",");
	strcat(claims, payload + 1);
	hs256 = hmac_token("{\"alg\":\"HS256\"}", claims, EVP_sha256(), secret_a);
	rs256 = pkey_token("{\"alg\":\"RS256\",\"kid\":\"r\"}", claims, EVP_sha256(),
	    rsa_key, EC_FORM_JWS);
	CHECK(hs256);
	CHECK(rs256);
	if (!(hs256 && rs256))
		goto out;
	CHECK(strlen(hs256) > 20000);
	CHECK(strlen(hs256) < 32768);

	CHECK(hu_verifier_add_hmac_key(small, NULL, "HS256", secret_a, strlen(secret_a),
	    NULL, 0) == HU_OK);
	CHECK(hu_verifier_add_hmac_key(large, NULL, "HS256", secret_a, strlen(secret_a),
	    NULL, 0) == HU_OK);
	CHECK(add_pem(large, "r", "RS256", rsa_key, NULL) == HU_OK);
	CHECK(hu_verifier_set_max_size(large, 32768) == HU_OK);

	CHECK(verify_at_now(small, hs256) == HU_ERR_TOKEN_TOO_LARGE);
	CHECK(verify_at_now(large, hs256) == HU_OK);
	CHECK(verify_at_now(large, rs256) == HU_OK);
	tamper_signature(rs256);
	CHECK(verify_at_now(large, rs256) == HU_ERR_SIGNATURE_MISMATCH);

out:
	free(claims);
	free(hs256);
	free(rs256);
	hu_verifier_free(small);
	hu_verifier_free(large);
}

/* Builds {"keys":[a,b]} (b may be NULL), from malloc. */
static char *jwk_set(const char *a, const char *b)
{
	char *set = malloc(strlen(a) + (b ? strlen(b) : 0) + 16);

	if (set != NULL)
		sprintf(set, "{\"keys\":[%s%s%s]}", a, b ? "," : "", b ? b : "");
	return set;
}

static void test_jwks_rotation(void)
{
	hu_verifier *v = new_verifier();
	char detail[HU_DETAIL_SIZE];
	char *rsa_jwk = public_jwk(rsa_key, "2024", "");
	char *ec_jwk = public_jwk(p256_key, "2025", ",\"alg\":\"ES256\",\"use\":\"sig\"");
	char *rsa_2024_other = public_jwk(rsa_key_2, "2024", "");
	char *ec_2026 = public_jwk(p256_key_2, "2026", "");
	char *set = NULL, *conflicting = NULL;
	char *token_2024 = pkey_token("{\"alg\":\"RS256\",\"kid\":\"2024\"}", payload,
	    EVP_sha256(), rsa_key, EC_FORM_JWS);
	char *token_2025 = pkey_token("{\"alg\":\"ES256\",\"kid\":\"2025\"}", payload,
	    EVP_sha256(), p256_key, EC_FORM_JWS);
	char *token_2026 = pkey_token("{\"alg\":\"ES256\",\"kid\":\"2026\"}", payload,
	    EVP_sha256(), p256_key_2, EC_FORM_JWS);
	char *hs_with_kid = hmac_token("{\"alg\":\"HS256\",\"kid\":\"2025\"}", payload,
	    EVP_sha256(), secret_a);
	size_t added = 99;

	CHECK(v && rsa_jwk && ec_jwk && rsa_2024_other && ec_2026 && token_2024 &&
	    token_2025 && token_2026 && hs_with_kid);
	if (!(v && rsa_jwk && ec_jwk && rsa_2024_other && ec_2026))
		goto out;
	set = jwk_set(rsa_jwk, ec_jwk);
	conflicting = jwk_set(ec_2026, rsa_2024_other);
	CHECK(set);
	CHECK(conflicting);
	if (!(set && conflicting))
		goto out;

	CHECK(hu_verifier_add_hmac_key(v, NULL, "HS256", secret_a, strlen(secret_a),
	    detail, sizeof detail) == HU_OK);
	CHECK_MSG(hu_verifier_add_jwks(v, set, strlen(set), &added, detail, sizeof detail) ==
	    HU_OK, detail);
	CHECK(added == 2);
	CHECK(verify_at_now(v, token_2024) == HU_OK);
	CHECK(verify_at_now(v, token_2025) == HU_OK);
	CHECK(verify_at_now(v, token_2026) == HU_ERR_UNKNOWN_KEY);

	/* Loading the same set again (a refresh) adds nothing. */
	CHECK(hu_verifier_add_jwks(v, set, strlen(set), &added, detail, sizeof detail) ==
	    HU_OK);
	CHECK(added == 0);

	/* A set that rebinds kid 2024 to another key is rejected as a whole:
	 * its valid key 2026 is not added either. */
	CHECK(hu_verifier_add_jwks(v, conflicting, strlen(conflicting), &added, detail,
	    sizeof detail) == HU_ERR_CONFIGURATION);
	CHECK_MSG(starts_with(detail, "JWKS key 2 (kid \"2024\"): another key"), detail);
	CHECK(added == 0);
	CHECK(hu_verifier_has_kid(v, "2026") == 0);
	CHECK(verify_at_now(v, token_2024) == HU_OK);

	/* Rotation: the new key works at once, the old one until removed. */
	CHECK(hu_verifier_add_jwk(v, ec_2026, strlen(ec_2026), detail, sizeof detail) ==
	    HU_OK);
	CHECK(verify_at_now(v, token_2026) == HU_OK);
	CHECK(verify_at_now(v, token_2025) == HU_OK);
	CHECK(hu_verifier_remove_key(v, "2025") == HU_OK);
	CHECK(verify_at_now(v, token_2025) == HU_ERR_UNKNOWN_KEY);
	CHECK(hu_verifier_remove_key(v, "2025") == HU_ERR_UNKNOWN_KEY);
	CHECK(hu_verifier_has_kid(v, "2025") == 0);
	CHECK(verify_at_now(v, token_2026) == HU_OK);
	CHECK(verify_at_now(v, token_2024) == HU_OK);

	/* The alg check comes before the kid lookup: with the only RSA key
	 * gone, an RS256 token is rejected for its algorithm. */
	CHECK(hu_verifier_remove_key(v, "2024") == HU_OK);
	CHECK(verify_at_now(v, token_2024) == HU_ERR_UNSUPPORTED_ALGORITHM);

	/* Now kid 2024 may be bound to the other key. */
	CHECK(hu_verifier_add_jwk(v, rsa_2024_other, strlen(rsa_2024_other), detail,
	    sizeof detail) == HU_OK);
	CHECK(verify_at_now(v, token_2024) == HU_ERR_SIGNATURE_MISMATCH);

	/* An HMAC token that names a removed kid does not fall back to the
	 * default key. */
	CHECK(verify_at_now(v, hs_with_kid) == HU_ERR_UNKNOWN_KEY);

	/* Once the last kid key is gone, kids are ignored again. */
	CHECK(hu_verifier_remove_key(v, "2024") == HU_OK);
	CHECK(hu_verifier_remove_key(v, "2026") == HU_OK);
	CHECK(verify_at_now(v, token_2026) == HU_ERR_UNSUPPORTED_ALGORITHM);
	CHECK(verify_at_now(v, hs_with_kid) == HU_OK);

	/* Removing the default key leaves a verifier without keys. */
	CHECK(hu_verifier_remove_key(v, NULL) == HU_OK);
	CHECK(verify_at_now(v, hs_with_kid) == HU_ERR_CONFIGURATION);

out:
	free(rsa_jwk);
	free(ec_jwk);
	free(rsa_2024_other);
	free(ec_2026);
	free(set);
	free(conflicting);
	free(token_2024);
	free(token_2025);
	free(token_2026);
	free(hs_with_kid);
	hu_verifier_free(v);
}

/* Copies template into out (size bytes), replacing each "$X" with x and
 * each "$Y" with y. */
static void expand(const char *template, const char *x, const char *y, char *out,
    size_t size)
{
	size_t used = 0;

	while (*template != '\0' && used + 1 < size) {
		const char *insert = NULL;

		if (template[0] == '$' && template[1] == 'X')
			insert = x;
		else if (template[0] == '$' && template[1] == 'Y')
			insert = y;
		if (insert != NULL) {
			used += (size_t)snprintf(out + used, size - used, "%s", insert);
			template += 2;
		} else {
			out[used++] = *template++;
		}
	}
	out[used < size ? used : size - 1] = '\0';
}

static void test_jwks_rejections(void)
{
	/* The generator of P-256 (SEC 2, section 2.4.2), a valid public point. */
	static const char gx[] = "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY";
	static const char gy[] = "T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU";
	/* gy with one bit of its last byte changed: off the curve. */
	static const char gy_off[] = "T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfY";
	static const char *const bad_sets[] = {
		"not json",
		"[]",
		"{\"keys\":{}}",
		"{\"keys\":[1]}",
		"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"$X\",\"y\":\"$Y\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"\",\"crv\":\"P-256\",\"x\":\"$X\",\"y\":\"$Y\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"kid\":7,\"crv\":\"P-256\",\"x\":\"$X\",\"y\":\"$Y\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"a\\u0000b\",\"crv\":\"P-256\",\"x\":\"$X\","
		    "\"y\":\"$Y\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"d\",\"crv\":\"P-256\",\"x\":\"$X\",\"y\":\"$Y\","
		    "\"d\":\"AAAA\"}]}",
		"{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"rsa-p\",\"n\":\"$X\",\"e\":\"AQAB\","
		    "\"p\":\"AQAB\"}]}",
		"{\"keys\":[{\"kty\":\"oct\",\"kid\":\"oct\",\"k\":\"$X\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"enc\",\"use\":\"enc\",\"crv\":\"P-256\","
		    "\"x\":\"$X\",\"y\":\"$Y\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"ops\",\"key_ops\":[\"encrypt\"],"
		    "\"crv\":\"P-256\",\"x\":\"$X\",\"y\":\"$Y\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"ops\",\"key_ops\":\"verify\","
		    "\"crv\":\"P-256\",\"x\":\"$X\",\"y\":\"$Y\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"alg\",\"alg\":\"RS256\",\"crv\":\"P-256\","
		    "\"x\":\"$X\",\"y\":\"$Y\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"alg\",\"alg\":\"ES384\",\"crv\":\"P-256\","
		    "\"x\":\"$X\",\"y\":\"$Y\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"alg\",\"alg\":\"none\",\"crv\":\"P-256\","
		    "\"x\":\"$X\",\"y\":\"$Y\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"crv\",\"crv\":\"P-521\",\"x\":\"$X\",\"y\":\"$Y\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"pad\",\"crv\":\"P-256\",\"x\":\"$X=\",\"y\":\"$Y\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"short\",\"crv\":\"P-256\",\"x\":\"AQAB\","
		    "\"y\":\"$Y\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"no-y\",\"crv\":\"P-256\",\"x\":\"$X\"}]}",
		"{\"keys\":[{\"kty\":\"OKP\",\"kid\":\"okp\",\"crv\":\"Ed25519\",\"x\":\"$X\"}]}",
		"{\"keys\":[{\"kid\":\"no-kty\",\"crv\":\"P-256\",\"x\":\"$X\",\"y\":\"$Y\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"dup\",\"kid\":\"dup\",\"crv\":\"P-256\","
		    "\"x\":\"$X\",\"y\":\"$Y\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"same\",\"crv\":\"P-256\",\"x\":\"$X\",\"y\":\"$Y\"},"
		    "{\"kty\":\"EC\",\"kid\":\"same\",\"crv\":\"P-256\",\"x\":\"$X\",\"y\":\"$Y\"}]}",
		"{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"tiny\",\"n\":\"$X\",\"e\":\"AQAB\"}]}",
		"{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"no-e\",\"n\":\"$X\"}]}",
	};
	hu_verifier *v = new_verifier();
	unsigned char modulus[256];
	char detail[HU_DETAIL_SIZE], text[1024], *even_n, *huge;
	size_t added, i;
	hu_status status;

	CHECK(v != NULL);
	if (v == NULL)
		return;
	for (i = 0; i < sizeof bad_sets / sizeof *bad_sets; i++) {
		expand(bad_sets[i], gx, gy, text, sizeof text);
		added = 99;
		status = hu_verifier_add_jwks(v, text, strlen(text), &added, detail, sizeof detail);
		CHECK_MSG(status == HU_ERR_CONFIGURATION, text);
		CHECK_MSG(detail[0] != '\0', text);
		CHECK_MSG(added == 0, text);
	}
	CHECK(hu_verifier_has_kid(v, "same") == 0);

	/* A point off the curve. */
	expand("{\"keys\":[{\"kty\":\"EC\",\"kid\":\"off\",\"crv\":\"P-256\",\"x\":\"$X\","
	    "\"y\":\"$Y\"}]}", gx, gy_off, text, sizeof text);
	CHECK(hu_verifier_add_jwks(v, text, strlen(text), &added, detail, sizeof detail) ==
	    HU_ERR_CONFIGURATION);
	CHECK_MSG(strstr(detail, "not a point on P-256") != NULL, detail);

	/* An even 2048-bit modulus passes the size and exponent rules but not
	 * OpenSSL's public-key validation. */
	memset(modulus, 0xff, sizeof modulus);
	modulus[sizeof modulus - 1] = 0xfe;
	even_n = b64url(modulus, sizeof modulus);
	if (even_n != NULL) {
		expand("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"even\",\"n\":\"$X\",\"e\":\"AQAB\"}]}",
		    even_n, "", text, sizeof text);
		CHECK(hu_verifier_add_jwks(v, text, strlen(text), &added, detail,
		    sizeof detail) == HU_ERR_CONFIGURATION);
		CHECK_MSG(strstr(detail, "validation") != NULL, detail);
		free(even_n);
	}

	/* The generator point itself loads, as a check on the table above. */
	expand("{\"keys\":[{\"kty\":\"EC\",\"kid\":\"g\",\"crv\":\"P-256\",\"x\":\"$X\","
	    "\"y\":\"$Y\"}]}", gx, gy, text, sizeof text);
	CHECK_MSG(hu_verifier_add_jwks(v, text, strlen(text), &added, detail, sizeof detail) ==
	    HU_OK, detail);
	CHECK(added == 1);

	/* A private key member is rejected with a message naming the member. */
	expand(bad_sets[8], gx, gy, text, sizeof text);
	CHECK(hu_verifier_add_jwks(v, text, strlen(text), &added, detail, sizeof detail) ==
	    HU_ERR_CONFIGURATION);
	CHECK_MSG(strcmp(detail, "JWKS key 1 (kid \"d\"): JWK contains the private member "
	    "\"d\"; a key set must hold only public keys") == 0, detail);

	/* An empty set is valid and adds nothing. */
	CHECK(hu_verifier_add_jwks(v, "{\"keys\":[]}", 11, &added, detail, sizeof detail) ==
	    HU_OK);
	CHECK(added == 0);

	/* A single JWK must be an object; a set is not a JWK. */
	CHECK(hu_verifier_add_jwk(v, "{\"keys\":[]}", 11, detail, sizeof detail) ==
	    HU_ERR_CONFIGURATION);
	CHECK(hu_verifier_add_jwk(v, "[]", 2, detail, sizeof detail) == HU_ERR_CONFIGURATION);

	/* Documents above the size limit are rejected before parsing. */
	huge = malloc(HU_MAX_JWKS_SIZE + 1);
	if (huge != NULL) {
		memset(huge, ' ', HU_MAX_JWKS_SIZE + 1);
		memcpy(huge, "{\"keys\":[]}", 11);
		CHECK(hu_verifier_add_jwks(v, huge, HU_MAX_JWKS_SIZE + 1, &added, detail,
		    sizeof detail) == HU_ERR_CONFIGURATION);
		CHECK(hu_verifier_add_jwks(v, huge, HU_MAX_JWKS_SIZE, &added, detail,
		    sizeof detail) == HU_OK);
		free(huge);
	}
	hu_verifier_free(v);
}

/* Returns header "." "e30" "." "c2ln" with the header base64url-encoded,
 * from malloc: a token whose payload and signature mean nothing. */
static char *unsigned_token(const char *header)
{
	char *h = b64url(header, strlen(header));
	char *token = h ? malloc(strlen(h) + 10) : NULL;

	if (token != NULL)
		sprintf(token, "%s.e30.c2ln", h);
	free(h);
	return token;
}

static void test_peek_kid(void)
{
	static const struct {
		const char *header;
		hu_status status;
		const char *kid;
	} cases[] = {
		{"{\"alg\":\"RS256\",\"kid\":\"huddleup/2025-01\"}", HU_OK, "huddleup/2025-01"},
		{"{\"alg\":\"HS256\"}", HU_OK, ""},
		{"{\"alg\":\"none\",\"kid\":\"../../etc/passwd\"}", HU_OK, "../../etc/passwd"},
		{"{\"kid\":\"\"}", HU_ERR_UNSUPPORTED_HEADER, ""},
		{"{\"kid\":7}", HU_ERR_UNSUPPORTED_HEADER, ""},
		{"{\"kid\":null}", HU_ERR_UNSUPPORTED_HEADER, ""},
		{"{\"kid\":\"a\\u0000b\"}", HU_ERR_UNSUPPORTED_HEADER, ""},
		{"{\"kid\":\"a\",\"kid\":\"b\"}", HU_ERR_UNSUPPORTED_HEADER, ""},
		{"[\"kid\"]", HU_ERR_UNSUPPORTED_HEADER, ""},
		{"not json", HU_ERR_UNSUPPORTED_HEADER, ""},
	};
	char kid[HU_KID_SIZE], header[400], *token, *big;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof *cases; i++) {
		token = unsigned_token(cases[i].header);
		CHECK(token != NULL);
		if (token == NULL)
			continue;
		CHECK_MSG(hu_peek_kid(token, strlen(token), kid, sizeof kid) == cases[i].status,
		    cases[i].header);
		CHECK_MSG(strcmp(kid, cases[i].kid) == 0, cases[i].header);
		free(token);
	}

	/* A kid of 256 bytes is the longest accepted. */
	snprintf(header, sizeof header, "{\"kid\":\"%0256d\"}", 0);
	token = unsigned_token(header);
	CHECK(token != NULL);
	if (token != NULL) {
		CHECK(hu_peek_kid(token, strlen(token), kid, sizeof kid) == HU_OK);
		CHECK(strlen(kid) == 256);
	}
	free(token);
	snprintf(header, sizeof header, "{\"kid\":\"%0257d\"}", 0);
	token = unsigned_token(header);
	CHECK(token != NULL);
	if (token != NULL)
		CHECK(hu_peek_kid(token, strlen(token), kid, sizeof kid) ==
		    HU_ERR_UNSUPPORTED_HEADER);
	free(token);

	CHECK(hu_peek_kid("", 0, kid, sizeof kid) == HU_ERR_INVALID_ENCODING);
	CHECK(hu_peek_kid("abc.def", 7, kid, sizeof kid) == HU_ERR_INVALID_ENCODING);
	CHECK(hu_peek_kid("a.b.c.d", 7, kid, sizeof kid) == HU_ERR_INVALID_ENCODING);
	CHECK(hu_peek_kid("eyJ=.e30.c2ln", 13, kid, sizeof kid) == HU_ERR_INVALID_ENCODING);
	CHECK(hu_peek_kid("e30.e30.c2ln\0x", 14, kid, sizeof kid) == HU_ERR_INVALID_ENCODING);
	CHECK(hu_peek_kid("e30.e30.c2ln", 12, kid, sizeof kid) == HU_OK);

	big = malloc(65537);
	if (big != NULL) {
		memset(big, 'A', 65537);
		memcpy(big, "e30.e30.", 8);
		CHECK(hu_peek_kid(big, 65537, kid, sizeof kid) == HU_ERR_TOKEN_TOO_LARGE);
		CHECK(hu_peek_kid(big, 65536, kid, sizeof kid) == HU_OK);
		free(big);
	}
}

static void test_asap_key_name(void)
{
	char name[HU_ASAP_KEY_NAME_SIZE];

	/* Expected values from `printf %s KID | sha256sum`. */
	CHECK(hu_asap_key_name("huddleup/2025-01", name) == HU_OK);
	CHECK_MSG(strcmp(name, "e8531083bfcc8ba031ae309db850f398"
	    "14e651491ee6569c675ec59ef1de16c4.pem") == 0, name);
	CHECK(hu_asap_key_name("a", name) == HU_OK);
	CHECK_MSG(strcmp(name, "ca978112ca1bbdcafac231b39a23dc4d"
	    "a786eff8147c4e72b9807785afee48bb.pem") == 0, name);
	CHECK(strlen(name) == HU_ASAP_KEY_NAME_SIZE - 1);
}

int main(void)
{
	rsa_key = generate_rsa(2048, 65537);
	rsa_key_2 = generate_rsa(2048, 65537);
	p256_key = generate_ec("P-256");
	p256_key_2 = generate_ec("P-256");
	p384_key = generate_ec("P-384");
	CHECK(rsa_key);
	CHECK(rsa_key_2);
	CHECK(p256_key);
	CHECK(p256_key_2);
	CHECK(p384_key);
	if (!(rsa_key && rsa_key_2 && p256_key && p256_key_2 && p384_key))
		return hu_test_finish("test_verify");

	test_argument_misuse();
	test_kid_selection();
	test_hmac_algorithms();
	test_public_key_algorithms();
	test_public_key_from_jwk();
	test_algorithm_family_binding();
	test_key_policy();
	test_large_token();
	test_jwks_rotation();
	test_jwks_rejections();
	test_peek_kid();
	test_asap_key_name();

	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(rsa_key_2);
	EVP_PKEY_free(p256_key);
	EVP_PKEY_free(p256_key_2);
	EVP_PKEY_free(p384_key);
	return hu_test_finish("test_verify");
}
