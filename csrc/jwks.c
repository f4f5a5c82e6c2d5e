/*
 * Public keys from JSON Web Keys (RFC 7517, members from RFC 7518 section
 * 6), and the file names of Jitsi's ASAP key layout.
 *
 * A key set is configuration that may come from a URL, so it is read as
 * strictly as a token: duplicate members, private members and keys that do
 * not fit their alg or the key policy are rejected, never skipped.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>

#include "internal.h"

/* Largest RSA modulus read from a JWK: 8192 bits, the largest key whose
 * signatures fit HU_MAX_SIGNATURE_BYTES. */
#define MAX_MODULUS_BYTES 1024

/* Maximum length of a public exponent read from a JWK. The key policy
 * accepts only 65537. */
#define MAX_EXPONENT_BYTES 16

/* Members of private and symmetric JWKs (RFC 7518 sections 6.2.2, 6.3.2
 * and 6.4.1). None of them belongs in a set of verification keys. */
static const char *const private_members[] = {
	"d", "p", "q", "dp", "dq", "qi", "oth", "k",
};

/*
 * Decodes the base64url string member name of jwk into out (max bytes).
 * Returns the decoded length, or -1 with detail filled when the member is
 * missing, not a string, too long or not canonical unpadded base64url.
 */
static long decode_member(const json_t *jwk, const char *name,
    unsigned char *out, size_t max, char *detail, size_t detail_size)
{
	const json_t *value = json_object_get(jwk, name);
	long len;

	if (!json_is_string(value)) {
		hu_set_detail(detail, detail_size, "member \"%s\" is missing or not a string",
		    name);
		return -1;
	}
	if (memchr(json_string_value(value), '=', json_string_length(value)) != NULL) {
		hu_set_detail(detail, detail_size,
		    "member \"%s\" has base64 padding; JWK values are unpadded base64url", name);
		return -1;
	}
	if (hu_b64url_decoded_max(json_string_length(value)) > max + 2) {
		hu_set_detail(detail, detail_size, "member \"%s\" is longer than %zu bytes",
		    name, max);
		return -1;
	}
	len = hu_b64url_decode(json_string_value(value), json_string_length(value), out);
	if (len < 0 || (size_t)len > max) {
		hu_set_detail(detail, detail_size,
		    "member \"%s\" is not unpadded base64url of at most %zu bytes",
		    name, max);
		return -1;
	}
	return len;
}

/* Turns OSSL_PARAMs into a public key of type ("RSA" or "EC"). */
static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM_BLD *builder)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(builder);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;

	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

static EVP_PKEY *rsa_from_jwk(const json_t *jwk, char *detail, size_t detail_size)
{
	unsigned char n_bytes[MAX_MODULUS_BYTES + 2], e_bytes[MAX_EXPONENT_BYTES + 2];
	long n_len, e_len;
	BIGNUM *n = NULL, *e = NULL;
	OSSL_PARAM_BLD *builder = NULL;
	EVP_PKEY *pkey = NULL;

	n_len = decode_member(jwk, "n", n_bytes, MAX_MODULUS_BYTES, detail, detail_size);
	if (n_len < 0)
		return NULL;
	e_len = decode_member(jwk, "e", e_bytes, MAX_EXPONENT_BYTES, detail, detail_size);
	if (e_len < 0)
		return NULL;

	n = BN_bin2bn(n_bytes, (int)n_len, NULL);
	e = BN_bin2bn(e_bytes, (int)e_len, NULL);
	builder = OSSL_PARAM_BLD_new();
	if (n != NULL && e != NULL && builder != NULL &&
	    OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_N, n) &&
	    OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_E, e))
		pkey = pkey_from_params("RSA", builder);
	if (pkey == NULL)
		hu_set_detail(detail, detail_size, "OpenSSL cannot build an RSA key from n and e");

	OSSL_PARAM_BLD_free(builder);
	BN_free(n);
	BN_free(e);
	ERR_clear_error();
	return pkey;
}

/* Builds an EC key from crv, x and y. *alg_out receives the ES algorithm
 * of the curve. */
static EVP_PKEY *ec_from_jwk(const json_t *jwk, hu_alg *alg_out, char *detail,
    size_t detail_size)
{
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	const char *group;
	unsigned char point[1 + 2 * 48 + 2];
	size_t coordinate_len;
	long x_len, y_len;
	OSSL_PARAM_BLD *builder;
	EVP_PKEY *pkey = NULL;

	if (crv != NULL && strcmp(crv, "P-256") == 0) {
		group = "prime256v1";
		coordinate_len = 32;
		*alg_out = HU_ALG_ES256;
	} else if (crv != NULL && strcmp(crv, "P-384") == 0) {
		group = "secp384r1";
		coordinate_len = 48;
		*alg_out = HU_ALG_ES384;
	} else {
		hu_set_detail(detail, detail_size,
		    "member \"crv\" must be \"P-256\" or \"P-384\"");
		return NULL;
	}

	/* RFC 7518 section 6.2.1.2: x and y are the full coordinate length.
	 * They form the uncompressed point 04 || x || y. */
	point[0] = 0x04;
	x_len = decode_member(jwk, "x", point + 1, coordinate_len, detail, detail_size);
	if (x_len < 0)
		return NULL;
	y_len = decode_member(jwk, "y", point + 1 + coordinate_len, coordinate_len,
	    detail, detail_size);
	if (y_len < 0)
		return NULL;
	if ((size_t)x_len != coordinate_len || (size_t)y_len != coordinate_len) {
		hu_set_detail(detail, detail_size,
		    "members \"x\" and \"y\" must be %zu bytes each for %s",
		    coordinate_len, crv);
		return NULL;
	}

	builder = OSSL_PARAM_BLD_new();
	if (builder != NULL &&
	    OSSL_PARAM_BLD_push_utf8_string(builder, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
	    OSSL_PARAM_BLD_push_octet_string(builder, OSSL_PKEY_PARAM_PUB_KEY, point,
	        1 + 2 * coordinate_len))
		pkey = pkey_from_params("EC", builder);
	if (pkey == NULL)
		hu_set_detail(detail, detail_size,
		    "x and y are not a point on %s", crv);

	OSSL_PARAM_BLD_free(builder);
	ERR_clear_error();
	return pkey;
}

/* Checks the members that state the key's purpose (use, key_ops) and
 * rejects any private or symmetric key member. */
static hu_status check_purpose(const json_t *jwk, char *detail, size_t detail_size)
{
	const json_t *use = json_object_get(jwk, "use");
	const json_t *key_ops = json_object_get(jwk, "key_ops");
	const json_t *op;
	size_t i;
	int can_verify = 0;

	for (i = 0; i < sizeof private_members / sizeof *private_members; i++) {
		if (json_object_get(jwk, private_members[i]) != NULL) {
			hu_set_detail(detail, detail_size,
			    "JWK contains the private member \"%s\"; a key set must "
			    "hold only public keys", private_members[i]);
			return HU_ERR_CONFIGURATION;
		}
	}

	if (use != NULL && (!json_is_string(use) || strcmp(json_string_value(use), "sig") != 0)) {
		hu_set_detail(detail, detail_size,
		    "member \"use\" must be \"sig\" for a verification key");
		return HU_ERR_CONFIGURATION;
	}

	if (key_ops != NULL) {
		if (!json_is_array(key_ops)) {
			hu_set_detail(detail, detail_size, "member \"key_ops\" must be an array");
			return HU_ERR_CONFIGURATION;
		}
		json_array_foreach(key_ops, i, op) {
			if (json_is_string(op) && strcmp(json_string_value(op), "verify") == 0)
				can_verify = 1;
		}
		if (!can_verify) {
			hu_set_detail(detail, detail_size,
			    "member \"key_ops\" does not include \"verify\"");
			return HU_ERR_CONFIGURATION;
		}
	}
	return HU_OK;
}

/* Returns 1 when alg may be used with an RSA key (is_rsa) or with an EC key
 * whose curve calls for curve_alg. */
static int alg_fits_key(hu_alg alg, int is_rsa, hu_alg curve_alg)
{
	if (is_rsa)
		return alg == HU_ALG_RS256 || alg == HU_ALG_RS384 || alg == HU_ALG_RS512;
	return alg == curve_alg;
}

hu_key *hu_key_new_jwk(const json_t *jwk, char *kid_out, hu_status *status,
    char *detail, size_t detail_size)
{
	const json_t *kty_value, *kid_value, *alg_value;
	const char *kty;
	size_t kid_len;
	hu_alg alg, curve_alg = HU_ALG_UNKNOWN;
	int is_rsa;
	EVP_PKEY *pkey;

	*status = HU_ERR_CONFIGURATION;
	kid_out[0] = '\0';
	if (!json_is_object(jwk)) {
		hu_set_detail(detail, detail_size, "JWK is not a JSON object");
		return NULL;
	}

	kid_value = json_object_get(jwk, "kid");
	kid_len = json_string_length(kid_value);
	if (!json_is_string(kid_value) || kid_len == 0 || kid_len > HU_MAX_KID_BYTES ||
	    memchr(json_string_value(kid_value), '\0', kid_len) != NULL) {
		hu_set_detail(detail, detail_size,
		    "member \"kid\" is required: a string of 1 to %d bytes without NUL",
		    HU_MAX_KID_BYTES);
		return NULL;
	}
	memcpy(kid_out, json_string_value(kid_value), kid_len + 1);

	if (check_purpose(jwk, detail, detail_size) != HU_OK)
		return NULL;

	kty_value = json_object_get(jwk, "kty");
	kty = json_string_value(kty_value);
	if (kty == NULL) {
		hu_set_detail(detail, detail_size, "member \"kty\" is missing or not a string");
		return NULL;
	}
	if (strcmp(kty, "RSA") == 0) {
		is_rsa = 1;
		pkey = rsa_from_jwk(jwk, detail, detail_size);
	} else if (strcmp(kty, "EC") == 0) {
		is_rsa = 0;
		pkey = ec_from_jwk(jwk, &curve_alg, detail, detail_size);
	} else {
		hu_set_detail(detail, detail_size,
		    "kty \"%.16s\" is not supported (use \"RSA\" or \"EC\")", kty);
		return NULL;
	}
	if (pkey == NULL)
		return NULL;

	alg_value = json_object_get(jwk, "alg");
	if (alg_value == NULL) {
		alg = is_rsa ? HU_ALG_RS256 : curve_alg;
	} else {
		alg = json_is_string(alg_value) ? hu_alg_from_name(json_string_value(alg_value),
		    json_string_length(alg_value)) : HU_ALG_UNKNOWN;
		if (!alg_fits_key(alg, is_rsa, curve_alg)) {
			hu_set_detail(detail, detail_size,
			    "alg \"%.16s\" does not fit this %s key (use %s)",
			    json_is_string(alg_value) ? json_string_value(alg_value) : "?",
			    kty, is_rsa ? "RS256, RS384 or RS512" : hu_alg_name(curve_alg));
			EVP_PKEY_free(pkey);
			return NULL;
		}
	}

	return hu_key_new_public(alg, pkey, status, detail, detail_size);
}

/* Parses a JWK or JWK Set document. Returns NULL with detail filled when it
 * is too large, not JSON, or has duplicate member names. */
static json_t *parse_document(const char *json, size_t len, char *detail,
    size_t detail_size)
{
	json_t *root;
	json_error_t error;

	if (len > HU_MAX_JWKS_SIZE) {
		hu_set_detail(detail, detail_size, "key set is %zu bytes; the limit is %d",
		    len, HU_MAX_JWKS_SIZE);
		return NULL;
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &error);
	if (root == NULL)
		hu_set_detail(detail, detail_size, "key set is not valid JSON: %s (line %d)",
		    error.text, error.line);
	return root;
}

/* Rewrites detail as 'PREFIX (kid "KID"): DETAIL'. */
static void name_jwk_in_detail(const char *prefix, const char *kid, char *detail,
    size_t detail_size)
{
	char reason[HU_DETAIL_SIZE], label[HU_KID_LABEL_SIZE];

	if (detail == NULL || detail_size == 0)
		return;
	snprintf(reason, sizeof reason, "%s", detail);
	if (kid[0] == '\0') {
		hu_set_detail(detail, detail_size, "%s: %s", prefix, reason);
		return;
	}
	hu_kid_label(kid, strlen(kid), label);
	hu_set_detail(detail, detail_size, "%s (kid \"%s\"): %s", prefix, label, reason);
}

/* One key of a set being added. */
struct pending_key {
	char *kid;              /* from malloc */
	hu_key *key;
	int already_configured; /* the same key is configured under kid */
};

static void free_pending(struct pending_key *pending, size_t count)
{
	size_t i;

	if (pending == NULL)
		return;
	for (i = 0; i < count; i++) {
		free(pending[i].kid);
		hu_key_free(pending[i].key);
	}
	free(pending);
}

/*
 * Loads one JWK into *entry and compares it with the key already configured
 * under its kid. Returns HU_OK, or a status with detail filled.
 */
static hu_status load_pending(const hu_verifier *v, const json_t *jwk,
    struct pending_key *entry, char *kid, char *detail, size_t detail_size)
{
	const hu_key *configured;
	hu_status status;

	entry->key = hu_key_new_jwk(jwk, kid, &status, detail, detail_size);
	if (entry->key == NULL)
		return status;
	entry->kid = strdup(kid);
	if (entry->kid == NULL)
		return HU_ERR_NO_MEMORY;

	configured = hu_verifier_find_key(v, kid);
	if (configured != NULL) {
		if (!hu_key_equal(configured, entry->key)) {
			hu_set_detail(detail, detail_size,
			    "another key is configured under this kid; remove it first");
			return HU_ERR_CONFIGURATION;
		}
		entry->already_configured = 1;
	}
	return HU_OK;
}

/*
 * Adds the keys of jwks (an array of JWK objects) to v, or none of them.
 * is_set selects how detail names a rejected key: by its position in a
 * set, or as the single JWK.
 */
static hu_status add_key_list(hu_verifier *v, const json_t *jwks, int is_set,
    size_t *added, char *detail, size_t detail_size)
{
	struct pending_key *pending;
	size_t count = json_array_size(jwks), new_count = 0, i, j;
	char kid[HU_KID_SIZE], prefix[32];
	hu_status status = HU_OK;

	if (count == 0)
		return HU_OK;
	pending = calloc(count, sizeof *pending);
	if (pending == NULL)
		return HU_ERR_NO_MEMORY;

	for (i = 0; i < count && status == HU_OK; i++) {
		status = load_pending(v, json_array_get(jwks, i), &pending[i], kid,
		    detail, detail_size);
		for (j = 0; j < i && status == HU_OK; j++) {
			if (strcmp(pending[j].kid, kid) == 0) {
				hu_set_detail(detail, detail_size,
				    "kid is also used by key %zu of the set", j + 1);
				status = HU_ERR_CONFIGURATION;
			}
		}
		if (status == HU_ERR_CONFIGURATION) {
			if (is_set)
				snprintf(prefix, sizeof prefix, "JWKS key %zu", i + 1);
			else
				snprintf(prefix, sizeof prefix, "JWK");
			name_jwk_in_detail(prefix, kid, detail, detail_size);
		}
		if (status == HU_OK && !pending[i].already_configured)
			new_count++;
	}

	if (status == HU_OK)
		status = hu_verifier_reserve_keys(v, new_count);
	if (status == HU_OK) {
		for (i = 0; i < count; i++) {
			if (pending[i].already_configured)
				continue;
			hu_verifier_insert_key(v, pending[i].kid, pending[i].key);
			pending[i].kid = NULL;
			pending[i].key = NULL;
		}
		if (added != NULL)
			*added = new_count;
	}
	free_pending(pending, count);
	return status;
}

hu_status hu_verifier_add_jwk(hu_verifier *v, const char *json, size_t len,
    char *detail, size_t detail_size)
{
	json_t *root, *list;
	hu_status status;

	if (detail != NULL && detail_size > 0)
		detail[0] = '\0';
	if (v == NULL || json == NULL) {
		hu_set_detail(detail, detail_size, "verifier and JWK text are required");
		return HU_ERR_INVALID_ARGUMENT;
	}

	root = parse_document(json, len, detail, detail_size);
	if (root == NULL)
		return HU_ERR_CONFIGURATION;
	if (!json_is_object(root)) {
		hu_set_detail(detail, detail_size, "JWK is not a JSON object");
		json_decref(root);
		return HU_ERR_CONFIGURATION;
	}
	list = json_array();
	if (list == NULL || json_array_append(list, root) != 0) {
		json_decref(list);
		json_decref(root);
		return HU_ERR_NO_MEMORY;
	}
	status = add_key_list(v, list, 0, NULL, detail, detail_size);
	json_decref(list);
	json_decref(root);
	return status;
}

hu_status hu_verifier_add_jwks(hu_verifier *v, const char *json, size_t len,
    size_t *added, char *detail, size_t detail_size)
{
	json_t *root, *keys;
	hu_status status;

	if (added != NULL)
		*added = 0;
	if (detail != NULL && detail_size > 0)
		detail[0] = '\0';
	if (v == NULL || json == NULL) {
		hu_set_detail(detail, detail_size, "verifier and JWKS text are required");
		return HU_ERR_INVALID_ARGUMENT;
	}

	root = parse_document(json, len, detail, detail_size);
	if (root == NULL)
		return HU_ERR_CONFIGURATION;
	keys = json_object_get(root, "keys");
	if (!json_is_array(keys)) {
		hu_set_detail(detail, detail_size,
		    "key set is not a JSON object with a \"keys\" array");
		json_decref(root);
		return HU_ERR_CONFIGURATION;
	}
	status = add_key_list(v, keys, 1, added, detail, detail_size);
	json_decref(root);
	return status;
}

hu_status hu_asap_key_name(const char *kid, char out[HU_ASAP_KEY_NAME_SIZE])
{
	static const char hex_digits[] = "0123456789abcdef";
	unsigned char digest[SHA256_DIGEST_LENGTH];
	size_t kid_len, i;

	if (out == NULL)
		return HU_ERR_INVALID_ARGUMENT;
	out[0] = '\0';
	if (kid == NULL)
		return HU_ERR_INVALID_ARGUMENT;
	kid_len = strlen(kid);
	if (kid_len == 0 || kid_len > HU_MAX_KID_BYTES)
		return HU_ERR_INVALID_ARGUMENT;

	SHA256((const unsigned char *)kid, kid_len, digest);
	for (i = 0; i < sizeof digest; i++) {
		out[2 * i] = hex_digits[digest[i] >> 4];
		out[2 * i + 1] = hex_digits[digest[i] & 0x0f];
	}
	memcpy(out + 2 * sizeof digest, ".pem", 5);
	return HU_OK;
}
