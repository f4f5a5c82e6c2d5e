/*
 * keyexport.c - the public half of an issuer's private key, as PEM and as
 * a JWK, so that the verifying side can be configured from the key that
 * signs.
 *
 * Each result is read back through the verifier's own key loading
 * (hu_key_new_public_pem() and hu_verifier_add_jwk()) before it is
 * returned, so a key that the verifier would reject is never printed.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "internal.h"

/* Largest PEM private key accepted, as for hu_issuer_new_private_key_pem(). */
#define MAX_PRIVATE_KEY_BYTES 65536

/* Largest RSA modulus written to a JWK: 8192 bits. */
#define MAX_MODULUS_BYTES 1024

/* The PEM password callback: an encrypted key is rejected instead of
 * prompting on the terminal, which OpenSSL's default callback does. */
static int reject_password(char *buffer, int size, int rwflag, void *user)
{
	(void)buffer;
	(void)size;
	(void)rwflag;
	(void)user;
	return -1;
}

/* Reads an unencrypted PEM private key. Returns NULL with detail filled. */
static EVP_PKEY *read_private_key(const char *pem, size_t pem_len,
    hu_status *status, char *detail, size_t detail_size)
{
	EVP_PKEY *pkey;
	BIO *bio;

	*status = HU_ERR_CONFIGURATION;
	if (pem == NULL || pem_len == 0) {
		hu_set_detail(detail, detail_size, "PEM private key is missing");
		return NULL;
	}
	if (pem_len > MAX_PRIVATE_KEY_BYTES) {
		hu_set_detail(detail, detail_size,
		    "PEM private key is %zu bytes, more than the maximum of %d",
		    pem_len, MAX_PRIVATE_KEY_BYTES);
		return NULL;
	}

	bio = BIO_new_mem_buf(pem, (int)pem_len);
	if (bio == NULL) {
		ERR_clear_error();
		*status = HU_ERR_NO_MEMORY;
		hu_set_detail(detail, detail_size, "out of memory");
		return NULL;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, reject_password, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (pkey == NULL) {
		hu_set_detail(detail, detail_size,
		    "no unencrypted PEM private key found");
		return NULL;
	}
	*status = HU_OK;
	return pkey;
}

/*
 * Picks the algorithm for pkey: the one named by alg, or with alg NULL the
 * default of the key's type (RS256 for RSA, ES256 for P-256, ES384 for
 * P-384), the same defaults as a JWK without "alg". Only public-key
 * algorithms are accepted. Whether the key fits is checked later, by the
 * verifier's key policy.
 */
static hu_alg pick_alg(const char *alg, EVP_PKEY *pkey, char *detail,
    size_t detail_size)
{
	char curve[64];
	size_t curve_len = 0;
	hu_alg picked;

	if (alg != NULL) {
		picked = hu_alg_from_name(alg, strlen(alg));
		if (picked == HU_ALG_UNKNOWN || hu_alg_is_hmac(picked)) {
			hu_set_detail(detail, detail_size,
			    "unsupported public-key algorithm \"%.16s\"; use RS256, "
			    "RS384, RS512, ES256 or ES384", alg);
			return HU_ALG_UNKNOWN;
		}
		return picked;
	}

	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA)
		return HU_ALG_RS256;
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC &&
	    EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
	        curve, sizeof curve, &curve_len)) {
		if (strcmp(curve, "prime256v1") == 0)
			return HU_ALG_ES256;
		if (strcmp(curve, "secp384r1") == 0)
			return HU_ALG_ES384;
	}
	ERR_clear_error();
	hu_set_detail(detail, detail_size,
	    "the key is neither RSA nor EC on P-256 or P-384, so no algorithm "
	    "fits it; use an RSA key (RS256), or an EC key on P-256 (ES256) or "
	    "P-384 (ES384)");
	return HU_ALG_UNKNOWN;
}

/* Writes the SubjectPublicKeyInfo PEM of pkey into a string from malloc. */
static char *write_public_pem(EVP_PKEY *pkey)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	char *text = NULL;
	long len;

	if (bio == NULL)
		goto out;
	if (PEM_write_bio_PUBKEY(bio, pkey) != 1)
		goto out;
	len = BIO_get_mem_data(bio, &data);
	if (len <= 0)
		goto out;
	text = malloc((size_t)len + 1);
	if (text == NULL)
		goto out;
	memcpy(text, data, (size_t)len);
	text[len] = '\0';

out:
	BIO_free(bio);
	ERR_clear_error();
	return text;
}

/*
 * Loads the private key, picks its algorithm and writes its public PEM.
 * On HU_OK *alg_out and *public_pem_out (from malloc) are set, and the PEM
 * has passed the verifier's key policy for *alg_out.
 */
static hu_status export_public_pem(const char *alg, const char *pem,
    size_t pem_len, hu_alg *alg_out, char **public_pem_out, char *detail,
    size_t detail_size)
{
	hu_status status;
	EVP_PKEY *pkey;
	hu_key *check;
	hu_alg picked;
	char *public_pem;

	pkey = read_private_key(pem, pem_len, &status, detail, detail_size);
	if (pkey == NULL)
		return status;
	picked = pick_alg(alg, pkey, detail, detail_size);
	if (picked == HU_ALG_UNKNOWN) {
		EVP_PKEY_free(pkey);
		return HU_ERR_CONFIGURATION;
	}
	public_pem = write_public_pem(pkey);
	EVP_PKEY_free(pkey);
	if (public_pem == NULL) {
		hu_set_detail(detail, detail_size,
		    "cannot write the public key as PEM");
		return HU_ERR_NO_MEMORY;
	}

	/* The verifier's policy: RSA of at least 2048 bits with e = 65537, or
	 * EC on the curve that alg names. */
	check = hu_key_new_public_pem(picked, public_pem, strlen(public_pem),
	    &status, detail, detail_size);
	if (check == NULL) {
		free(public_pem);
		return status;
	}
	hu_key_free(check);

	*alg_out = picked;
	*public_pem_out = public_pem;
	return HU_OK;
}

hu_status hu_public_key_pem_from_private(const char *alg, const char *pem,
    size_t pem_len, char **public_pem_out, char *detail, size_t detail_size)
{
	hu_alg picked;

	if (detail != NULL && detail_size > 0)
		detail[0] = '\0';
	if (public_pem_out == NULL) {
		hu_set_detail(detail, detail_size, "public_pem_out is NULL");
		return HU_ERR_INVALID_ARGUMENT;
	}
	*public_pem_out = NULL;
	return export_public_pem(alg, pem, pem_len, &picked, public_pem_out,
	    detail, detail_size);
}

/* Sets member name of object to the unpadded base64url form of the
 * big-endian bytes of number, left-padded with zeros to width bytes (0:
 * the minimal length). Returns 0, or -1 when out of memory or too long. */
static int set_b64url_number(json_t *object, const char *name,
    const BIGNUM *number, int width)
{
	unsigned char bytes[MAX_MODULUS_BYTES];
	char encoded[(MAX_MODULUS_BYTES + 2) / 3 * 4 + 1];
	int len = width > 0 ? width : BN_num_bytes(number);

	if (len <= 0 || len > MAX_MODULUS_BYTES ||
	    BN_bn2binpad(number, bytes, len) != len)
		return -1;
	hu_b64url_encode(bytes, (size_t)len, encoded);
	return json_object_set_new(object, name, json_string(encoded));
}

/* Reads the BIGNUM parameters a and b of pkey; both are freed by the
 * caller. Returns 0 or -1. */
static int get_two_numbers(EVP_PKEY *pkey, const char *a_name, BIGNUM **a,
    const char *b_name, BIGNUM **b)
{
	*a = NULL;
	*b = NULL;
	if (!EVP_PKEY_get_bn_param(pkey, a_name, a) ||
	    !EVP_PKEY_get_bn_param(pkey, b_name, b)) {
		ERR_clear_error();
		return -1;
	}
	return 0;
}

/* Builds the JWK object of the public key in public_pem (checked already).
 * Returns NULL when out of memory. */
static json_t *build_jwk(hu_alg alg, const char *kid, const char *public_pem)
{
	BIO *bio = BIO_new_mem_buf(public_pem, -1);
	EVP_PKEY *pkey = bio != NULL ?
	    PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	json_t *jwk = json_object();
	BIGNUM *a = NULL, *b = NULL;
	int failed = bio == NULL || pkey == NULL || jwk == NULL;

	if (!failed && (alg == HU_ALG_ES256 || alg == HU_ALG_ES384)) {
		int width = alg == HU_ALG_ES256 ? 32 : 48;

		failed = get_two_numbers(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &a,
		    OSSL_PKEY_PARAM_EC_PUB_Y, &b) != 0 ||
		    json_object_set_new(jwk, "kty", json_string("EC")) != 0 ||
		    json_object_set_new(jwk, "crv", json_string(
		        alg == HU_ALG_ES256 ? "P-256" : "P-384")) != 0 ||
		    set_b64url_number(jwk, "x", a, width) != 0 ||
		    set_b64url_number(jwk, "y", b, width) != 0;
	} else if (!failed) {
		failed = get_two_numbers(pkey, OSSL_PKEY_PARAM_RSA_N, &a,
		    OSSL_PKEY_PARAM_RSA_E, &b) != 0 ||
		    json_object_set_new(jwk, "kty", json_string("RSA")) != 0 ||
		    set_b64url_number(jwk, "n", a, 0) != 0 ||
		    set_b64url_number(jwk, "e", b, 0) != 0;
	}
	if (!failed)
		failed = json_object_set_new(jwk, "kid", json_string(kid)) != 0 ||
		    json_object_set_new(jwk, "alg", json_string(hu_alg_name(alg))) != 0 ||
		    json_object_set_new(jwk, "use", json_string("sig")) != 0;

	BN_free(a);
	BN_free(b);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	ERR_clear_error();
	if (failed) {
		json_decref(jwk);
		return NULL;
	}
	return jwk;
}

/* Checks kid as the verifier stores kids: 1 to 256 bytes of UTF-8 (jansson
 * needs valid UTF-8 for a JSON string). */
static hu_status check_kid(const char *kid, char *detail, size_t detail_size)
{
	json_t *probe;

	if (kid == NULL || kid[0] == '\0') {
		hu_set_detail(detail, detail_size,
		    "kid is missing; a JWK needs one to be selected by a token's kid");
		return HU_ERR_CONFIGURATION;
	}
	if (strlen(kid) >= HU_KID_SIZE) {
		hu_set_detail(detail, detail_size,
		    "kid is %zu bytes, more than the maximum of %d", strlen(kid),
		    HU_KID_SIZE - 1);
		return HU_ERR_CONFIGURATION;
	}
	probe = json_string(kid);
	if (probe == NULL) {
		hu_set_detail(detail, detail_size, "kid is not valid UTF-8");
		return HU_ERR_CONFIGURATION;
	}
	json_decref(probe);
	return HU_OK;
}

/* Adds jwk_text to a fresh verifier, so that only a JWK the verifier
 * accepts is returned. */
static hu_status check_jwk(const char *jwk_text, char *detail,
    size_t detail_size)
{
	hu_verifier *verifier = hu_verifier_new();
	hu_status status;

	if (verifier == NULL)
		return HU_ERR_NO_MEMORY;
	status = hu_verifier_add_jwk(verifier, jwk_text, strlen(jwk_text),
	    detail, detail_size);
	hu_verifier_free(verifier);
	return status;
}

hu_status hu_public_jwk_from_private(const char *alg, const char *kid,
    const char *pem, size_t pem_len, char **jwk_out, char *detail,
    size_t detail_size)
{
	char *public_pem = NULL;
	char *jwk_text = NULL;
	hu_status status;
	hu_alg picked;
	json_t *jwk;

	if (detail != NULL && detail_size > 0)
		detail[0] = '\0';
	if (jwk_out == NULL) {
		hu_set_detail(detail, detail_size, "jwk_out is NULL");
		return HU_ERR_INVALID_ARGUMENT;
	}
	*jwk_out = NULL;
	status = check_kid(kid, detail, detail_size);
	if (status != HU_OK)
		return status;

	status = export_public_pem(alg, pem, pem_len, &picked, &public_pem,
	    detail, detail_size);
	if (status != HU_OK)
		return status;
	jwk = build_jwk(picked, kid, public_pem);
	free(public_pem);
	if (jwk != NULL)
		jwk_text = json_dumps(jwk, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(jwk);
	if (jwk_text == NULL) {
		hu_set_detail(detail, detail_size, "out of memory");
		return HU_ERR_NO_MEMORY;
	}

	status = check_jwk(jwk_text, detail, detail_size);
	if (status != HU_OK) {
		free(jwk_text);
		return status == HU_ERR_NO_MEMORY ? status : HU_ERR_INTERNAL;
	}
	*jwk_out = jwk_text;
	return HU_OK;
}
