/*
 * Verification keys and the signature layer: HMAC with prepared hash states,
 * RSASSA-PKCS1-v1_5 and ECDSA (JWS r||s form) through EVP_DigestVerify.
 */

/* The SHA-2 context API (SHA256_Init and friends) is deprecated in OpenSSL
 * 3.0 but still shipped. It is used because its contexts are plain structs:
 * copying the prepared HMAC states costs no allocation and no key setup,
 * which EVP_MAC cannot offer per call. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "internal.h"

struct hu_key {
	hu_alg alg;
	union {
		struct {
			SHA256_CTX inner, outer;
		} sha256;
		struct {
			SHA512_CTX inner, outer; /* HS384 uses SHA512_CTX too */
		} sha512;
	} hmac;
	EVP_PKEY *pkey;       /* RS and ES keys */
	size_t ec_half;       /* ES: bytes of r and of s in the JWS signature */
};

static const char *const alg_names[HU_ALG_COUNT] = {
	[HU_ALG_UNKNOWN] = "unknown",
	[HU_ALG_HS256] = "HS256",
	[HU_ALG_HS384] = "HS384",
	[HU_ALG_HS512] = "HS512",
	[HU_ALG_RS256] = "RS256",
	[HU_ALG_RS384] = "RS384",
	[HU_ALG_RS512] = "RS512",
	[HU_ALG_ES256] = "ES256",
	[HU_ALG_ES384] = "ES384",
};

hu_alg hu_alg_from_name(const char *name, size_t len)
{
	int i;

	if (name == NULL || len != 5)
		return HU_ALG_UNKNOWN;
	for (i = 1; i < HU_ALG_COUNT; i++)
		if (memcmp(alg_names[i], name, 5) == 0)
			return (hu_alg)i;
	return HU_ALG_UNKNOWN;
}

const char *hu_alg_name(hu_alg alg)
{
	if ((unsigned)alg >= HU_ALG_COUNT)
		return alg_names[HU_ALG_UNKNOWN];
	return alg_names[alg];
}

int hu_alg_is_hmac(hu_alg alg)
{
	return alg == HU_ALG_HS256 || alg == HU_ALG_HS384 || alg == HU_ALG_HS512;
}

hu_alg hu_key_alg(const hu_key *key)
{
	return key->alg;
}

static const EVP_MD *alg_digest(hu_alg alg)
{
	switch (alg) {
	case HU_ALG_HS256:
	case HU_ALG_RS256:
	case HU_ALG_ES256:
		return EVP_sha256();
	case HU_ALG_HS384:
	case HU_ALG_RS384:
	case HU_ALG_ES384:
		return EVP_sha384();
	case HU_ALG_HS512:
	case HU_ALG_RS512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

/* Prepares the inner and outer states of RFC 2104 HMAC for one key. */
static void hmac_prepare(hu_key *key, const unsigned char *secret, size_t len)
{
	unsigned char block[128], hashed[64];
	size_t block_size = key->alg == HU_ALG_HS256 ? 64 : 128;
	size_t i;

	memset(block, 0, sizeof block);
	if (len > block_size) {
		if (key->alg == HU_ALG_HS256)
			SHA256(secret, len, hashed), len = 32;
		else if (key->alg == HU_ALG_HS384)
			SHA384(secret, len, hashed), len = 48;
		else
			SHA512(secret, len, hashed), len = 64;
		memcpy(block, hashed, len);
	} else {
		memcpy(block, secret, len);
	}

	for (i = 0; i < block_size; i++)
		block[i] ^= 0x36;
	if (key->alg == HU_ALG_HS256) {
		SHA256_Init(&key->hmac.sha256.inner);
		SHA256_Update(&key->hmac.sha256.inner, block, block_size);
	} else {
		if (key->alg == HU_ALG_HS384)
			SHA384_Init(&key->hmac.sha512.inner);
		else
			SHA512_Init(&key->hmac.sha512.inner);
		SHA512_Update(&key->hmac.sha512.inner, block, block_size);
	}

	for (i = 0; i < block_size; i++)
		block[i] ^= 0x36 ^ 0x5c;
	if (key->alg == HU_ALG_HS256) {
		SHA256_Init(&key->hmac.sha256.outer);
		SHA256_Update(&key->hmac.sha256.outer, block, block_size);
	} else {
		if (key->alg == HU_ALG_HS384)
			SHA384_Init(&key->hmac.sha512.outer);
		else
			SHA512_Init(&key->hmac.sha512.outer);
		SHA512_Update(&key->hmac.sha512.outer, block, block_size);
	}

	OPENSSL_cleanse(block, sizeof block);
	OPENSSL_cleanse(hashed, sizeof hashed);
}

hu_key *hu_key_new_hmac(hu_alg alg, const void *secret, size_t len)
{
	hu_key *key;

	if (!hu_alg_is_hmac(alg))
		return NULL;
	key = calloc(1, sizeof *key);
	if (key == NULL)
		return NULL;

	key->alg = alg;
	hmac_prepare(key, secret, len);
	return key;
}

/*
 * Checks an RSA modulus: odd, and without a prime factor below 1000.
 * OpenSSL 3.0's EVP_PKEY_public_check() is not used for RSA because its
 * SP 800-56B check runs Miller-Rabin with random bases: a modulus that is
 * not the product of two large primes passed on some calls and failed on
 * others, so one key set loaded or not by chance.
 */
static int rsa_modulus_is_valid(const EVP_PKEY *pkey)
{
	BIGNUM *n = NULL;
	BN_ULONG p, d;
	int valid;

	if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n)) {
		ERR_clear_error();
		return 0;
	}
	valid = BN_is_odd(n);
	for (p = 3; valid && p < 1000; p += 2) {
		for (d = 3; d * d <= p && p % d != 0; d += 2)
			;
		if (d * d > p && BN_mod_word(n, p) == 0) /* p is prime */
			valid = 0;
	}
	BN_free(n);
	return valid;
}

/* Runs OpenSSL's public-key validation (EVP_PKEY_public_check) on an EC
 * key, and rsa_modulus_is_valid() on an RSA key. */
static int public_key_is_valid(EVP_PKEY *pkey)
{
	EVP_PKEY_CTX *ctx;
	int valid;

	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA)
		return rsa_modulus_is_valid(pkey);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	valid = ctx != NULL && EVP_PKEY_public_check(ctx) == 1;

	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return valid;
}

/*
 * Checks an RSA or EC public key against alg and the key policy. An RSA key
 * needs at least 2048 bits, public exponent 65537 and an odd modulus
 * without small prime factors. An EC key needs the curve alg names and must
 * pass OpenSSL's public-key validation.
 */
static hu_status check_public_key(hu_alg alg, EVP_PKEY *pkey, size_t *ec_half,
    char *detail, size_t detail_size)
{
	int base_id = EVP_PKEY_get_base_id(pkey);

	if (alg == HU_ALG_RS256 || alg == HU_ALG_RS384 || alg == HU_ALG_RS512) {
		BIGNUM *e = NULL;
		int bits, e_ok;

		if (base_id != EVP_PKEY_RSA) {
			hu_set_detail(detail, detail_size,
			    "%s needs an RSA public key, but the key is of another type",
			    hu_alg_name(alg));
			return HU_ERR_CONFIGURATION;
		}
		bits = EVP_PKEY_get_bits(pkey);
		if (bits < 2048) {
			hu_set_detail(detail, detail_size,
			    "RSA key has %d bits; at least 2048 are required", bits);
			return HU_ERR_CONFIGURATION;
		}
		if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e)) {
			ERR_clear_error();
			hu_set_detail(detail, detail_size, "RSA key has no readable public exponent");
			return HU_ERR_CONFIGURATION;
		}
		e_ok = BN_is_word(e, 65537);
		BN_free(e);
		if (!e_ok) {
			hu_set_detail(detail, detail_size,
			    "RSA key's public exponent is not 65537");
			return HU_ERR_CONFIGURATION;
		}
	} else if (alg == HU_ALG_ES256 || alg == HU_ALG_ES384) {
		char curve[64];
		size_t curve_len = 0;
		const char *want = alg == HU_ALG_ES256 ? "prime256v1" : "secp384r1";

		if (base_id != EVP_PKEY_EC) {
			hu_set_detail(detail, detail_size,
			    "%s needs an EC public key, but the key is of another type",
			    hu_alg_name(alg));
			return HU_ERR_CONFIGURATION;
		}
		if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
		        curve, sizeof curve, &curve_len)) {
			ERR_clear_error();
			hu_set_detail(detail, detail_size, "EC key has no named curve");
			return HU_ERR_CONFIGURATION;
		}
		if (strcmp(curve, want) != 0) {
			hu_set_detail(detail, detail_size,
			    "%s needs an EC key on %s, but the key is on %s",
			    hu_alg_name(alg), want, curve);
			return HU_ERR_CONFIGURATION;
		}
		*ec_half = alg == HU_ALG_ES256 ? 32 : 48;
	} else {
		hu_set_detail(detail, detail_size, "%s is not a public-key algorithm",
		    hu_alg_name(alg));
		return HU_ERR_CONFIGURATION;
	}

	/* Rejects, among others, an even RSA modulus and an EC point that is
	 * not on the curve. */
	if (!public_key_is_valid(pkey)) {
		hu_set_detail(detail, detail_size, base_id == EVP_PKEY_RSA ?
		    "RSA key fails validation: its modulus is even or has a prime "
		    "factor below 1000" :
		    "EC key fails OpenSSL's public-key validation");
		return HU_ERR_CONFIGURATION;
	}
	return HU_OK;
}

hu_key *hu_key_new_public(hu_alg alg, EVP_PKEY *pkey, hu_status *status,
    char *detail, size_t detail_size)
{
	hu_key *key = NULL;
	size_t ec_half = 0;

	*status = check_public_key(alg, pkey, &ec_half, detail, detail_size);
	if (*status != HU_OK)
		goto out;

	key = calloc(1, sizeof *key);
	if (key == NULL) {
		*status = HU_ERR_NO_MEMORY;
		goto out;
	}
	key->alg = alg;
	key->pkey = pkey;
	key->ec_half = ec_half;
	pkey = NULL;

out:
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return key;
}

/* Returns 1 when text[0..len) contains needle. */
static int contains(const char *text, size_t len, const char *needle)
{
	size_t needle_len = strlen(needle), i;

	for (i = 0; i + needle_len <= len; i++)
		if (memcmp(text + i, needle, needle_len) == 0)
			return 1;
	return 0;
}

hu_key *hu_key_new_public_pem(hu_alg alg, const char *pem, size_t len,
    hu_status *status, char *detail, size_t detail_size)
{
	BIO *bio;
	EVP_PKEY *pkey;

	*status = HU_ERR_CONFIGURATION;
	if (len > INT32_MAX) {
		hu_set_detail(detail, detail_size, "PEM text is too large");
		return NULL;
	}
	/* A private key does not belong in a verifier's configuration, so text
	 * that contains one is rejected even when a public key follows it. */
	if (contains(pem, len, "PRIVATE KEY-----")) {
		hu_set_detail(detail, detail_size,
		    "PEM text contains a private key; configure only the public key "
		    "(-----BEGIN PUBLIC KEY-----)");
		return NULL;
	}

	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL) {
		*status = HU_ERR_NO_MEMORY;
		ERR_clear_error();
		return NULL;
	}
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		hu_set_detail(detail, detail_size,
		    "not a PEM public key (expected -----BEGIN PUBLIC KEY-----)");
		ERR_clear_error();
		return NULL;
	}
	return hu_key_new_public(alg, pkey, status, detail, detail_size);
}

int hu_key_equal(const hu_key *a, const hu_key *b)
{
	if (a->alg != b->alg || a->pkey == NULL || b->pkey == NULL)
		return 0;
	return EVP_PKEY_eq(a->pkey, b->pkey) == 1;
}

void hu_key_free(hu_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	OPENSSL_cleanse(key, sizeof *key);
	free(key);
}

static hu_status hmac_verify(const hu_key *key, const unsigned char *msg,
    size_t msg_len, const unsigned char *sig, size_t sig_len)
{
	unsigned char tag[64];
	size_t tag_len;
	int equal;

	if (key->alg == HU_ALG_HS256) {
		SHA256_CTX ctx = key->hmac.sha256.inner;

		SHA256_Update(&ctx, msg, msg_len);
		SHA256_Final(tag, &ctx);
		ctx = key->hmac.sha256.outer;
		SHA256_Update(&ctx, tag, 32);
		SHA256_Final(tag, &ctx);
		tag_len = 32;
		OPENSSL_cleanse(&ctx, sizeof ctx);
	} else {
		SHA512_CTX ctx = key->hmac.sha512.inner;
		size_t inner_len = key->alg == HU_ALG_HS384 ? 48 : 64;

		SHA512_Update(&ctx, msg, msg_len);
		if (key->alg == HU_ALG_HS384)
			SHA384_Final(tag, &ctx);
		else
			SHA512_Final(tag, &ctx);
		ctx = key->hmac.sha512.outer;
		SHA512_Update(&ctx, tag, inner_len);
		if (key->alg == HU_ALG_HS384)
			SHA384_Final(tag, &ctx);
		else
			SHA512_Final(tag, &ctx);
		tag_len = inner_len;
		OPENSSL_cleanse(&ctx, sizeof ctx);
	}

	/* The length is public (it follows from alg), so only the bytes need a
	 * constant-time comparison. */
	equal = sig_len == tag_len && CRYPTO_memcmp(tag, sig, tag_len) == 0;
	return equal ? HU_OK : HU_ERR_SIGNATURE_MISMATCH;
}

/* Converts a JWS r||s signature to the DER ECDSA-Sig-Value OpenSSL takes.
 * Returns the DER length, 0 for a malformed signature, -1 without memory. */
static int ecdsa_jws_to_der(const hu_key *key, const unsigned char *sig,
    size_t sig_len, unsigned char **der_out)
{
	ECDSA_SIG *ecsig;
	BIGNUM *r, *s;
	int der_len;

	*der_out = NULL;
	if (sig_len != 2 * key->ec_half)
		return 0;

	ecsig = ECDSA_SIG_new();
	r = BN_bin2bn(sig, (int)key->ec_half, NULL);
	s = BN_bin2bn(sig + key->ec_half, (int)key->ec_half, NULL);
	if (ecsig == NULL || r == NULL || s == NULL ||
	    !ECDSA_SIG_set0(ecsig, r, s)) {
		ECDSA_SIG_free(ecsig);
		BN_free(r);
		BN_free(s);
		return -1;
	}
	der_len = i2d_ECDSA_SIG(ecsig, der_out);
	ECDSA_SIG_free(ecsig);
	return der_len > 0 ? der_len : -1;
}

static hu_status pkey_verify(const hu_key *key, const unsigned char *msg,
    size_t msg_len, const unsigned char *sig, size_t sig_len)
{
	EVP_MD_CTX *md_ctx = NULL;
	unsigned char *der = NULL;
	const unsigned char *checked = sig;
	size_t checked_len = sig_len;
	hu_status status = HU_ERR_SIGNATURE_MISMATCH;
	int rc;

	if (key->ec_half != 0) {
		int der_len = ecdsa_jws_to_der(key, sig, sig_len, &der);

		if (der_len == 0)
			goto out;
		if (der_len < 0) {
			status = HU_ERR_NO_MEMORY;
			goto out;
		}
		checked = der;
		checked_len = (size_t)der_len;
	}

	md_ctx = EVP_MD_CTX_new();
	if (md_ctx == NULL) {
		status = HU_ERR_NO_MEMORY;
		goto out;
	}
	if (EVP_DigestVerifyInit(md_ctx, NULL, alg_digest(key->alg), NULL,
	        key->pkey) != 1) {
		status = HU_ERR_INTERNAL;
		goto out;
	}
	/* Only 1 means valid: 0 is a mismatch, a negative value an error. */
	rc = EVP_DigestVerify(md_ctx, checked, checked_len, msg, msg_len);
	if (rc == 1)
		status = HU_OK;

out:
	EVP_MD_CTX_free(md_ctx);
	OPENSSL_free(der);
	ERR_clear_error();
	return status;
}

hu_status hu_key_verify(const hu_key *key, const unsigned char *msg,
    size_t msg_len, const unsigned char *sig, size_t sig_len)
{
	if (hu_alg_is_hmac(key->alg))
		return hmac_verify(key, msg, msg_len, sig, sig_len);
	return pkey_verify(key, msg, msg_len, sig, sig_len);
}
