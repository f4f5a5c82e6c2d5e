/*
 * The verifier: its configuration and the verification pipeline. The steps
 * run in a fixed order and each rejects with its own status: size, encoding,
 * header, signature, then claims. The payload is not parsed before its
 * signature has been checked.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

struct keyed {
	char *kid;       /* NULL for the default key */
	hu_key *key;
};

struct hu_verifier {
	struct keyed *keys;
	size_t key_count;
	size_t kid_key_count;          /* keys that have a kid */
	unsigned accepted_algs;        /* bit (1 << hu_alg) per algorithm of a key */
	char **issuers;
	size_t issuer_count;
	char **audiences;
	size_t audience_count;
	double leeway;
	double max_lifetime;
	size_t max_size;
	int require_room;
};

hu_verifier *hu_verifier_new(void)
{
	hu_verifier *v = calloc(1, sizeof *v);

	if (v == NULL)
		return NULL;
	v->leeway = HU_DEFAULT_LEEWAY;
	v->max_lifetime = HU_DEFAULT_MAX_LIFETIME;
	v->max_size = HU_DEFAULT_MAX_SIZE;
	v->require_room = 1;
	return v;
}

static void free_strings(char **list, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		free(list[i]);
	free(list);
}

void hu_verifier_free(hu_verifier *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->key_count; i++) {
		free(v->keys[i].kid);
		hu_key_free(v->keys[i].key);
	}
	free(v->keys);
	free_strings(v->issuers, v->issuer_count);
	free_strings(v->audiences, v->audience_count);
	free(v);
}

static const struct keyed *find_key(const hu_verifier *v, const char *kid,
    size_t kid_len)
{
	size_t i;

	for (i = 0; i < v->key_count; i++) {
		const char *k = v->keys[i].kid;

		if (kid == NULL && k == NULL)
			return &v->keys[i];
		if (kid != NULL && k != NULL && strlen(k) == kid_len &&
		    memcmp(k, kid, kid_len) == 0)
			return &v->keys[i];
	}
	return NULL;
}

/* Takes ownership of key; frees it on failure. */
static hu_status add_key(hu_verifier *v, const char *kid, hu_key *key,
    char *detail, size_t detail_size)
{
	struct keyed *grown;
	char *kid_copy = NULL;

	if (kid != NULL) {
		size_t kid_len = strlen(kid);

		if (kid_len == 0 || kid_len > HU_MAX_KID_BYTES) {
			hu_set_detail(detail, detail_size,
			    "kid must be 1 to %d bytes", HU_MAX_KID_BYTES);
			hu_key_free(key);
			return HU_ERR_CONFIGURATION;
		}
	}
	if (find_key(v, kid, kid ? strlen(kid) : 0) != NULL) {
		if (kid != NULL)
			hu_set_detail(detail, detail_size,
			    "a key with kid \"%.64s\" is already configured", kid);
		else
			hu_set_detail(detail, detail_size,
			    "a default key (without kid) is already configured");
		hu_key_free(key);
		return HU_ERR_CONFIGURATION;
	}

	if (kid != NULL && (kid_copy = strdup(kid)) == NULL) {
		hu_key_free(key);
		return HU_ERR_NO_MEMORY;
	}
	grown = realloc(v->keys, (v->key_count + 1) * sizeof *grown);
	if (grown == NULL) {
		free(kid_copy);
		hu_key_free(key);
		return HU_ERR_NO_MEMORY;
	}
	v->keys = grown;
	v->keys[v->key_count].kid = kid_copy;
	v->keys[v->key_count].key = key;
	v->key_count++;
	if (kid != NULL)
		v->kid_key_count++;
	v->accepted_algs |= 1u << hu_key_alg(key);
	return HU_OK;
}

hu_status hu_verifier_add_hmac_key(hu_verifier *v, const char *kid,
    const char *alg_name, const void *secret, size_t secret_len,
    char *detail, size_t detail_size)
{
	hu_alg alg;
	hu_key *key;

	if (v == NULL || alg_name == NULL || (secret == NULL && secret_len > 0)) {
		hu_set_detail(detail, detail_size, "verifier, alg and secret are required");
		return HU_ERR_INVALID_ARGUMENT;
	}
	alg = hu_alg_from_name(alg_name, strlen(alg_name));
	if (!hu_alg_is_hmac(alg)) {
		hu_set_detail(detail, detail_size,
		    "\"%.32s\" is not an HMAC algorithm (use HS256, HS384 or HS512)",
		    alg_name);
		return HU_ERR_CONFIGURATION;
	}
	if (secret_len < HU_MIN_HMAC_SECRET) {
		hu_set_detail(detail, detail_size,
		    "HMAC secret is %zu bytes; at least %d are required",
		    secret_len, HU_MIN_HMAC_SECRET);
		return HU_ERR_CONFIGURATION;
	}

	key = hu_key_new_hmac(alg, secret, secret_len);
	if (key == NULL)
		return HU_ERR_NO_MEMORY;
	return add_key(v, kid, key, detail, detail_size);
}

hu_status hu_verifier_add_public_key_pem(hu_verifier *v, const char *kid,
    const char *alg_name, const char *pem, size_t pem_len,
    char *detail, size_t detail_size)
{
	hu_alg alg;
	hu_key *key;
	hu_status status;

	if (v == NULL || alg_name == NULL || pem == NULL) {
		hu_set_detail(detail, detail_size, "verifier, alg and PEM are required");
		return HU_ERR_INVALID_ARGUMENT;
	}
	alg = hu_alg_from_name(alg_name, strlen(alg_name));
	if (alg == HU_ALG_UNKNOWN || hu_alg_is_hmac(alg)) {
		hu_set_detail(detail, detail_size,
		    "\"%.32s\" is not a public-key algorithm (use RS256, RS384, "
		    "RS512, ES256 or ES384)", alg_name);
		return HU_ERR_CONFIGURATION;
	}

	key = hu_key_new_public_pem(alg, pem, pem_len, &status, detail, detail_size);
	if (key == NULL)
		return status;
	return add_key(v, kid, key, detail, detail_size);
}

static hu_status append_string(char ***list, size_t *count, const char *value)
{
	char **grown;
	char *copy;

	if (value == NULL || value[0] == '\0')
		return HU_ERR_INVALID_ARGUMENT;
	copy = strdup(value);
	if (copy == NULL)
		return HU_ERR_NO_MEMORY;
	grown = realloc(*list, (*count + 1) * sizeof *grown);
	if (grown == NULL) {
		free(copy);
		return HU_ERR_NO_MEMORY;
	}
	grown[*count] = copy;
	*list = grown;
	(*count)++;
	return HU_OK;
}

hu_status hu_verifier_add_issuer(hu_verifier *v, const char *issuer)
{
	if (v == NULL)
		return HU_ERR_INVALID_ARGUMENT;
	return append_string(&v->issuers, &v->issuer_count, issuer);
}

hu_status hu_verifier_add_audience(hu_verifier *v, const char *audience)
{
	if (v == NULL)
		return HU_ERR_INVALID_ARGUMENT;
	return append_string(&v->audiences, &v->audience_count, audience);
}

hu_status hu_verifier_set_leeway(hu_verifier *v, double seconds)
{
	if (v == NULL || !isfinite(seconds) || seconds < 0 || seconds > 3600)
		return HU_ERR_INVALID_ARGUMENT;
	v->leeway = seconds;
	return HU_OK;
}

hu_status hu_verifier_set_max_lifetime(hu_verifier *v, double seconds)
{
	if (v == NULL || !isfinite(seconds) || seconds < 60 ||
	    seconds > 10 * 366 * 86400.0)
		return HU_ERR_INVALID_ARGUMENT;
	v->max_lifetime = seconds;
	return HU_OK;
}

hu_status hu_verifier_set_max_size(hu_verifier *v, size_t bytes)
{
	if (v == NULL || bytes < 256 || bytes > 65536)
		return HU_ERR_INVALID_ARGUMENT;
	v->max_size = bytes;
	return HU_OK;
}

hu_status hu_verifier_set_require_room(hu_verifier *v, int required)
{
	if (v == NULL)
		return HU_ERR_INVALID_ARGUMENT;
	v->require_room = required != 0;
	return HU_OK;
}

size_t hu_verifier_issuer_count(const hu_verifier *v) { return v->issuer_count; }
const char *hu_verifier_issuer(const hu_verifier *v, size_t i) { return v->issuers[i]; }
size_t hu_verifier_audience_count(const hu_verifier *v) { return v->audience_count; }
const char *hu_verifier_audience(const hu_verifier *v, size_t i) { return v->audiences[i]; }
double hu_verifier_leeway(const hu_verifier *v) { return v->leeway; }
double hu_verifier_max_lifetime(const hu_verifier *v) { return v->max_lifetime; }
int hu_verifier_requires_room(const hu_verifier *v) { return v->require_room; }

/* The three segments of a compact JWS, as offsets into the token. */
struct segments {
	const char *header, *payload, *signature;
	size_t header_len, payload_len, signature_len;
};

static hu_status split_token(const char *token, size_t len, struct segments *s,
    char *detail, size_t detail_size)
{
	const char *first, *second, *end = token + len;

	if (memchr(token, '\0', len) != NULL) {
		hu_set_detail(detail, detail_size, "token contains a NUL byte");
		return HU_ERR_INVALID_ENCODING;
	}
	first = memchr(token, '.', len);
	second = first ? memchr(first + 1, '.', (size_t)(end - first - 1)) : NULL;
	if (second == NULL || memchr(second + 1, '.', (size_t)(end - second - 1))) {
		hu_set_detail(detail, detail_size,
		    "token must have exactly three segments separated by '.'");
		return HU_ERR_INVALID_ENCODING;
	}

	s->header = token;
	s->header_len = (size_t)(first - token);
	s->payload = first + 1;
	s->payload_len = (size_t)(second - first - 1);
	s->signature = second + 1;
	s->signature_len = (size_t)(end - second - 1);
	if (s->header_len == 0 || s->payload_len == 0 || s->signature_len == 0) {
		hu_set_detail(detail, detail_size, "token has an empty segment");
		return HU_ERR_INVALID_ENCODING;
	}
	return HU_OK;
}

/* Header names whose processing this verifier does not implement. Accepting
 * them silently would let a token claim semantics (unencoded payloads,
 * attacker-chosen keys) that are not applied. */
static const char *const rejected_header_names[] = {
	"crit", "b64", "jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256",
};

/* Parses and checks the header; selects the key. */
static hu_status check_header(const hu_verifier *v, const unsigned char *text,
    size_t len, const struct keyed **key_out, char *detail, size_t detail_size)
{
	json_t *header;
	json_t *alg_value, *typ_value, *kid_value;
	json_error_t error;
	const char *kid = NULL;
	size_t kid_len = 0, i;
	hu_alg alg;
	hu_status status = HU_OK;

	if (hu_json_within_bounds(text, len) != 0) {
		hu_set_detail(detail, detail_size, "header nests or repeats too deeply");
		return HU_ERR_UNSUPPORTED_HEADER;
	}
	header = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &error);
	if (header == NULL) {
		hu_set_detail(detail, detail_size, "header is not valid JSON: %s",
		    error.text);
		return HU_ERR_UNSUPPORTED_HEADER;
	}
	if (!json_is_object(header)) {
		hu_set_detail(detail, detail_size, "header is not a JSON object");
		status = HU_ERR_UNSUPPORTED_HEADER;
		goto out;
	}

	alg_value = json_object_get(header, "alg");
	if (!json_is_string(alg_value)) {
		hu_set_detail(detail, detail_size, "header has no string \"alg\"");
		status = HU_ERR_UNSUPPORTED_ALGORITHM;
		goto out;
	}
	alg = hu_alg_from_name(json_string_value(alg_value),
	    json_string_length(alg_value));
	if (alg == HU_ALG_UNKNOWN || !(v->accepted_algs & (1u << alg))) {
		hu_set_detail(detail, detail_size,
		    "alg \"%.16s\" is not accepted by this verifier",
		    json_string_value(alg_value));
		status = HU_ERR_UNSUPPORTED_ALGORITHM;
		goto out;
	}

	for (i = 0; i < sizeof rejected_header_names / sizeof *rejected_header_names; i++) {
		if (json_object_get(header, rejected_header_names[i]) != NULL) {
			hu_set_detail(detail, detail_size,
			    "header parameter \"%s\" is not supported",
			    rejected_header_names[i]);
			status = HU_ERR_UNSUPPORTED_HEADER;
			goto out;
		}
	}

	typ_value = json_object_get(header, "typ");
	if (typ_value != NULL && (!json_is_string(typ_value) ||
	        json_string_length(typ_value) != 3 ||
	        OPENSSL_strncasecmp(json_string_value(typ_value), "JWT", 3) != 0)) {
		hu_set_detail(detail, detail_size, "header \"typ\" is not JWT");
		status = HU_ERR_UNSUPPORTED_HEADER;
		goto out;
	}

	kid_value = json_object_get(header, "kid");
	if (kid_value != NULL) {
		if (!json_is_string(kid_value) ||
		    json_string_length(kid_value) == 0 ||
		    json_string_length(kid_value) > HU_MAX_KID_BYTES) {
			hu_set_detail(detail, detail_size,
			    "header \"kid\" must be a string of 1 to %d bytes",
			    HU_MAX_KID_BYTES);
			status = HU_ERR_UNSUPPORTED_HEADER;
			goto out;
		}
		kid = json_string_value(kid_value);
		kid_len = json_string_length(kid_value);
	}

	/* A verifier configured with a single key and no kid ignores the
	 * token's kid, as Jitsi's shared-secret mode does. Once any key has a
	 * kid, a token's kid selects that key and nothing else. */
	if (v->kid_key_count == 0)
		kid = NULL, kid_len = 0;
	*key_out = find_key(v, kid, kid_len);
	if (*key_out == NULL) {
		if (kid != NULL)
			hu_set_detail(detail, detail_size, "no key with the token's kid");
		else
			hu_set_detail(detail, detail_size,
			    "token has no kid and no default key is configured");
		status = HU_ERR_UNKNOWN_KEY;
		goto out;
	}
	if (hu_key_alg((*key_out)->key) != alg) {
		hu_set_detail(detail, detail_size,
		    "alg \"%s\" does not match the key's algorithm %s",
		    hu_alg_name(alg), hu_alg_name(hu_key_alg((*key_out)->key)));
		status = HU_ERR_UNSUPPORTED_ALGORITHM;
		goto out;
	}

out:
	json_decref(header);
	return status;
}

/* Decoded header, payload and signature share one buffer. Tokens up to the
 * default size cap decode into the stack; a verifier configured for larger
 * tokens allocates per call. */
#define STACK_DECODE_BYTES (HU_DEFAULT_MAX_SIZE / 4 * 3 + 8)

hu_status hu_verify(const hu_verifier *v, const char *token, size_t len,
    double now, hu_claims **claims_out, char *detail, size_t detail_size)
{
	unsigned char stack_buffer[STACK_DECODE_BYTES];
	unsigned char *buffer = stack_buffer, *header, *payload, *signature;
	struct segments seg;
	const struct keyed *key = NULL;
	json_t *root = NULL;
	json_error_t error;
	hu_claims *claims = NULL;
	long header_len, payload_len, signature_len;
	int moderator = 0;
	hu_status status;

	if (claims_out != NULL)
		*claims_out = NULL;
	if (detail != NULL && detail_size > 0)
		detail[0] = '\0';
	if (v == NULL || (token == NULL && len > 0) || !isfinite(now)) {
		hu_set_detail(detail, detail_size, "verifier, token and a finite time are required");
		return HU_ERR_INVALID_ARGUMENT;
	}
	if (v->key_count == 0) {
		hu_set_detail(detail, detail_size, "verifier has no key");
		return HU_ERR_CONFIGURATION;
	}
	if (v->issuer_count == 0) {
		hu_set_detail(detail, detail_size, "verifier has no accepted issuer");
		return HU_ERR_CONFIGURATION;
	}

	/* 1. Size, before any decoding. */
	if (len > v->max_size) {
		hu_set_detail(detail, detail_size,
		    "token is %zu bytes; the limit is %zu", len, v->max_size);
		return HU_ERR_TOKEN_TOO_LARGE;
	}

	/* 2. Three non-empty segments of canonical base64url. */
	if (len == 0) {
		hu_set_detail(detail, detail_size, "token is empty");
		return HU_ERR_INVALID_ENCODING;
	}
	status = split_token(token, len, &seg, detail, detail_size);
	if (status != HU_OK)
		return status;
	if (hu_b64url_decoded_max(seg.header_len) > HU_MAX_HEADER_BYTES + 2) {
		hu_set_detail(detail, detail_size, "header is larger than %d bytes",
		    HU_MAX_HEADER_BYTES);
		return HU_ERR_UNSUPPORTED_HEADER;
	}
	if (hu_b64url_decoded_max(seg.signature_len) > HU_MAX_SIGNATURE_BYTES + 2) {
		hu_set_detail(detail, detail_size, "signature is larger than %d bytes",
		    HU_MAX_SIGNATURE_BYTES);
		return HU_ERR_SIGNATURE_MISMATCH;
	}
	if (len / 4 * 3 + 3 > sizeof stack_buffer) {
		/* len bytes of base64 always decode into fewer than len bytes. */
		buffer = malloc(len);
		if (buffer == NULL)
			return HU_ERR_NO_MEMORY;
	}
	header = buffer;
	header_len = hu_b64url_decode(seg.header, seg.header_len, header);
	payload = header_len < 0 ? NULL : header + header_len;
	payload_len = payload ? hu_b64url_decode(seg.payload, seg.payload_len, payload) : -1;
	signature = payload_len < 0 ? NULL : payload + payload_len;
	signature_len = signature ?
	    hu_b64url_decode(seg.signature, seg.signature_len, signature) : -1;
	if (signature_len < 0) {
		hu_set_detail(detail, detail_size, "%s segment is not canonical unpadded base64url",
		    header_len < 0 ? "header" : payload_len < 0 ? "payload" : "signature");
		status = HU_ERR_INVALID_ENCODING;
		goto out;
	}

	/* 3. Header. */
	status = check_header(v, header, (size_t)header_len, &key, detail, detail_size);
	if (status != HU_OK)
		goto out;

	/* 4. Signature over "header.payload" as sent, before the payload is parsed. */
	status = hu_key_verify(key->key, (const unsigned char *)token,
	    seg.header_len + 1 + seg.payload_len, signature, (size_t)signature_len);
	if (status == HU_ERR_SIGNATURE_MISMATCH)
		hu_set_detail(detail, detail_size, "signature does not verify with the %s key",
		    hu_alg_name(hu_key_alg(key->key)));
	if (status != HU_OK)
		goto out;

	/* 5. Claims, from one strict parse. */
	if (hu_json_within_bounds(payload, (size_t)payload_len) != 0) {
		hu_set_detail(detail, detail_size,
		    "payload nests deeper than %d levels or has more than %d values",
		    HU_MAX_JSON_DEPTH, HU_MAX_JSON_VALUES);
		status = HU_ERR_INVALID_JSON;
		goto out;
	}
	/* NOTE: jansson allocates per JSON value; this is the only allocation
	 * on the default-size path. */
	root = json_loadb((const char *)payload, (size_t)payload_len,
	    JSON_REJECT_DUPLICATES, &error);
	if (root == NULL) {
		hu_set_detail(detail, detail_size, "payload is not valid JSON: %s", error.text);
		status = HU_ERR_INVALID_JSON;
		goto out;
	}
	if (!json_is_object(root)) {
		hu_set_detail(detail, detail_size, "payload is not a JSON object");
		status = HU_ERR_INVALID_JSON;
		goto out;
	}
	status = hu_check_claims(v, root, now, &moderator, detail, detail_size);
	if (status != HU_OK)
		goto out;

	/* 6. Hand over the claims. */
	if (claims_out != NULL) {
		claims = calloc(1, sizeof *claims);
		if (claims == NULL) {
			status = HU_ERR_NO_MEMORY;
			goto out;
		}
		claims->root = root;
		claims->moderator = moderator;
		claims->exp = json_number_value(json_object_get(root, "exp"));
		root = NULL;
		*claims_out = claims;
	}

out:
	json_decref(root);
	if (buffer != stack_buffer) {
		OPENSSL_cleanse(buffer, len);
		free(buffer);
	}
	return status;
}
