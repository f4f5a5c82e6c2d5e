/*
 * The verifier: its configuration and the verification pipeline. The steps
 * run in a fixed order and each rejects with its own status: size, encoding,
 * header, signature, then claims. The payload is not parsed before its
 * signature has been checked.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"
#include "json_scan.h"

struct keyed {
	char *kid;       /* NULL for the default key */
	hu_key *key;
};

struct hu_verifier {
	struct keyed *keys;
	size_t key_count;
	size_t key_capacity;
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

/* The largest value hu_verifier_set_max_size() accepts, in bytes. */
#define MAX_TOKEN_SIZE_LIMIT 65536

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

const hu_key *hu_verifier_find_key(const hu_verifier *v, const char *kid)
{
	const struct keyed *found = find_key(v, kid, kid ? strlen(kid) : 0);

	return found ? found->key : NULL;
}

hu_status hu_verifier_reserve_keys(hu_verifier *v, size_t extra)
{
	struct keyed *grown;
	size_t capacity;

	if (extra <= v->key_capacity - v->key_count)
		return HU_OK;
	if (extra > SIZE_MAX / sizeof *grown - v->key_count)
		return HU_ERR_NO_MEMORY;
	capacity = v->key_count + extra;
	grown = realloc(v->keys, capacity * sizeof *grown);
	if (grown == NULL)
		return HU_ERR_NO_MEMORY;
	v->keys = grown;
	v->key_capacity = capacity;
	return HU_OK;
}

void hu_verifier_insert_key(hu_verifier *v, char *kid, hu_key *key)
{
	v->keys[v->key_count].kid = kid;
	v->keys[v->key_count].key = key;
	v->key_count++;
	if (kid != NULL)
		v->kid_key_count++;
	v->accepted_algs |= 1u << hu_key_alg(key);
}

void hu_kid_label(const char *kid, size_t len, char *dst)
{
	size_t i, copied = len > 40 ? 40 : len;

	for (i = 0; i < copied; i++) {
		unsigned char c = (unsigned char)kid[i];

		dst[i] = c >= 0x20 && c < 0x7f && c != '"' ? (char)c : '?';
	}
	if (len > copied) {
		memcpy(dst + copied, "...", 3);
		copied += 3;
	}
	dst[copied] = '\0';
}

/* Rewrites detail as 'key "KID": DETAIL', so that the message about a key
 * that cannot be loaded names it. Leaves detail alone for the default key. */
static void name_key_in_detail(const char *kid, char *detail, size_t detail_size)
{
	char reason[HU_DETAIL_SIZE], label[HU_KID_LABEL_SIZE];

	if (kid == NULL || detail == NULL || detail_size == 0)
		return;
	snprintf(reason, sizeof reason, "%s", detail);
	hu_kid_label(kid, strlen(kid), label);
	hu_set_detail(detail, detail_size, "key \"%s\": %s", label, reason);
}

/* Takes ownership of key; frees it on failure. */
static hu_status add_key(hu_verifier *v, const char *kid, hu_key *key,
    char *detail, size_t detail_size)
{
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
			    "a key with this kid is already configured");
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
	if (hu_verifier_reserve_keys(v, 1) != HU_OK) {
		free(kid_copy);
		hu_key_free(key);
		return HU_ERR_NO_MEMORY;
	}
	hu_verifier_insert_key(v, kid_copy, key);
	return HU_OK;
}

hu_status hu_verifier_add_hmac_key(hu_verifier *v, const char *kid,
    const char *alg_name, const void *secret, size_t secret_len,
    char *detail, size_t detail_size)
{
	hu_alg alg;
	hu_key *key;
	hu_status status;

	if (v == NULL || alg_name == NULL || (secret == NULL && secret_len > 0)) {
		hu_set_detail(detail, detail_size, "verifier, alg and secret are required");
		return HU_ERR_INVALID_ARGUMENT;
	}
	alg = hu_alg_from_name(alg_name, strlen(alg_name));
	if (!hu_alg_is_hmac(alg)) {
		hu_set_detail(detail, detail_size,
		    "\"%.32s\" is not an HMAC algorithm (use HS256, HS384 or HS512)",
		    alg_name);
		name_key_in_detail(kid, detail, detail_size);
		return HU_ERR_CONFIGURATION;
	}
	if (secret_len < HU_MIN_HMAC_SECRET) {
		hu_set_detail(detail, detail_size,
		    "HMAC secret is %zu bytes; at least %d are required",
		    secret_len, HU_MIN_HMAC_SECRET);
		name_key_in_detail(kid, detail, detail_size);
		return HU_ERR_CONFIGURATION;
	}

	key = hu_key_new_hmac(alg, secret, secret_len);
	if (key == NULL)
		return HU_ERR_NO_MEMORY;
	status = add_key(v, kid, key, detail, detail_size);
	if (status == HU_ERR_CONFIGURATION)
		name_key_in_detail(kid, detail, detail_size);
	return status;
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
		name_key_in_detail(kid, detail, detail_size);
		return HU_ERR_CONFIGURATION;
	}

	key = hu_key_new_public_pem(alg, pem, pem_len, &status, detail, detail_size);
	if (key != NULL)
		status = add_key(v, kid, key, detail, detail_size);
	if (status == HU_ERR_CONFIGURATION)
		name_key_in_detail(kid, detail, detail_size);
	return status;
}

hu_status hu_verifier_remove_key(hu_verifier *v, const char *kid)
{
	const struct keyed *found;
	size_t index, i;

	if (v == NULL)
		return HU_ERR_INVALID_ARGUMENT;
	found = find_key(v, kid, kid ? strlen(kid) : 0);
	if (found == NULL)
		return HU_ERR_UNKNOWN_KEY;

	index = (size_t)(found - v->keys);
	if (v->keys[index].kid != NULL)
		v->kid_key_count--;
	free(v->keys[index].kid);
	hu_key_free(v->keys[index].key);
	memmove(&v->keys[index], &v->keys[index + 1],
	    (v->key_count - index - 1) * sizeof *v->keys);
	v->key_count--;

	v->accepted_algs = 0;
	for (i = 0; i < v->key_count; i++)
		v->accepted_algs |= 1u << hu_key_alg(v->keys[i].key);
	return HU_OK;
}

int hu_verifier_has_kid(const hu_verifier *v, const char *kid)
{
	if (v == NULL)
		return 0;
	return find_key(v, kid, kid ? strlen(kid) : 0) != NULL;
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
	if (v == NULL || bytes < 256 || bytes > MAX_TOKEN_SIZE_LIMIT)
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

hu_status hu_peek_kid(const char *token, size_t len, char *kid_out,
    size_t kid_size)
{
	unsigned char header[HU_MAX_HEADER_BYTES + 2];
	struct segments seg;
	json_t *root, *kid_value;
	json_error_t error;
	long header_len;
	hu_status status;

	if (kid_out == NULL || kid_size < HU_KID_SIZE || (token == NULL && len > 0))
		return HU_ERR_INVALID_ARGUMENT;
	kid_out[0] = '\0';
	if (len > MAX_TOKEN_SIZE_LIMIT)
		return HU_ERR_TOKEN_TOO_LARGE;
	if (len == 0)
		return HU_ERR_INVALID_ENCODING;

	status = split_token(token, len, &seg, NULL, 0);
	if (status != HU_OK)
		return status;
	if (hu_b64url_decoded_max(seg.header_len) > sizeof header)
		return HU_ERR_UNSUPPORTED_HEADER;
	header_len = hu_b64url_decode(seg.header, seg.header_len, header);
	if (header_len < 0)
		return HU_ERR_INVALID_ENCODING;
	if (hu_json_within_bounds(header, (size_t)header_len) != 0)
		return HU_ERR_UNSUPPORTED_HEADER;
	root = json_loadb((const char *)header, (size_t)header_len,
	    JSON_REJECT_DUPLICATES, &error);
	if (!json_is_object(root)) {
		json_decref(root);
		return HU_ERR_UNSUPPORTED_HEADER;
	}

	kid_value = json_object_get(root, "kid");
	if (kid_value != NULL) {
		size_t kid_len = json_string_length(kid_value);

		if (!json_is_string(kid_value) || kid_len == 0 ||
		    kid_len > HU_MAX_KID_BYTES ||
		    memchr(json_string_value(kid_value), '\0', kid_len) != NULL)
			status = HU_ERR_UNSUPPORTED_HEADER;
		else
			memcpy(kid_out, json_string_value(kid_value), kid_len + 1);
	}
	json_decref(root);
	return status;
}

/* The header parameters the verifier reads: alg, typ and kid, then those
 * whose processing it does not implement. Accepting the latter silently
 * would let a token claim semantics (unencoded payloads, attacker-chosen
 * keys) that are not applied. */
enum { HEADER_ALG, HEADER_TYP, HEADER_KID, HEADER_FIRST_REJECTED,
	HEADER_NAME_COUNT = HEADER_FIRST_REJECTED + 8 };
static const struct hu_json_name header_names[HEADER_NAME_COUNT] = {
	HU_JSON_NAME("alg"), HU_JSON_NAME("typ"), HU_JSON_NAME("kid"),
	HU_JSON_NAME("crit"), HU_JSON_NAME("b64"), HU_JSON_NAME("jku"),
	HU_JSON_NAME("jwk"), HU_JSON_NAME("x5u"), HU_JSON_NAME("x5c"),
	HU_JSON_NAME("x5t"), HU_JSON_NAME("x5t#S256"),
};

/* Scans and checks the header. Stores its accepted alg, and its kid in
 * kid_text (HU_MAX_KID_BYTES) with the length in *kid_len_out, 0 without a
 * kid. */
static hu_status scan_header(const hu_verifier *v, const unsigned char *text,
    size_t len, hu_alg *alg_out, unsigned char *kid_text, size_t *kid_len_out,
    char *detail, size_t detail_size)
{
	struct hu_json_node nodes[HU_JSON_MAX_NODES];
	struct hu_json_doc header;
	struct hu_json_error error;
	unsigned char alg_text[17];
	uint16_t members[HEADER_NAME_COUNT], alg_value, typ_value, kid_value;
	size_t alg_len, kid_len = 0, i;
	hu_alg alg;

	if (hu_json_scan(&header, text, len, nodes, &error) != 0) {
		if (error.over_bounds)
			hu_set_detail(detail, detail_size, "header nests or repeats too deeply");
		else
			hu_set_detail(detail, detail_size,
			    "header is not valid JSON: %s at byte %zu", error.message,
			    error.offset);
		return HU_ERR_UNSUPPORTED_HEADER;
	}
	if (hu_json_type_of(&header, 0) != HU_JSON_OBJECT) {
		hu_set_detail(detail, detail_size, "header is not a JSON object");
		return HU_ERR_UNSUPPORTED_HEADER;
	}

	hu_json_members(&header, 0, header_names, HEADER_NAME_COUNT, members);
	alg_value = members[HEADER_ALG];
	typ_value = members[HEADER_TYP];
	kid_value = members[HEADER_KID];
	if (hu_json_type_of(&header, alg_value) != HU_JSON_STRING) {
		hu_set_detail(detail, detail_size, "header has no string \"alg\"");
		return HU_ERR_UNSUPPORTED_ALGORITHM;
	}
	alg_len = hu_json_string_copy(&header, alg_value, alg_text, sizeof alg_text - 1);
	alg_text[alg_len < sizeof alg_text - 1 ? alg_len : sizeof alg_text - 1] = '\0';
	alg = alg_len <= sizeof alg_text - 1 ?
	    hu_alg_from_name((const char *)alg_text, alg_len) : HU_ALG_UNKNOWN;
	if (alg == HU_ALG_UNKNOWN || !(v->accepted_algs & (1u << alg))) {
		hu_set_detail(detail, detail_size,
		    "alg \"%.16s\" is not accepted by this verifier", alg_text);
		return HU_ERR_UNSUPPORTED_ALGORITHM;
	}

	for (i = HEADER_FIRST_REJECTED; i < HEADER_NAME_COUNT; i++) {
		if (members[i] != HU_JSON_NONE) {
			hu_set_detail(detail, detail_size,
			    "header parameter \"%s\" is not supported",
			    header_names[i].text);
			return HU_ERR_UNSUPPORTED_HEADER;
		}
	}

	if (typ_value != HU_JSON_NONE) {
		unsigned char typ_text[3];

		if (hu_json_type_of(&header, typ_value) != HU_JSON_STRING ||
		    hu_json_string_copy(&header, typ_value, typ_text, 3) != 3 ||
		    OPENSSL_strncasecmp((const char *)typ_text, "JWT", 3) != 0) {
			hu_set_detail(detail, detail_size, "header \"typ\" is not JWT");
			return HU_ERR_UNSUPPORTED_HEADER;
		}
	}

	if (kid_value != HU_JSON_NONE) {
		if (hu_json_type_of(&header, kid_value) == HU_JSON_STRING)
			kid_len = hu_json_string_copy(&header, kid_value, kid_text,
			    HU_MAX_KID_BYTES);
		if (kid_len == 0 || kid_len > HU_MAX_KID_BYTES) {
			hu_set_detail(detail, detail_size,
			    "header \"kid\" must be a string of 1 to %d bytes",
			    HU_MAX_KID_BYTES);
			return HU_ERR_UNSUPPORTED_HEADER;
		}
	}
	*alg_out = alg;
	*kid_len_out = kid_len;
	return HU_OK;
}

/*
 * Returns the alg of a header that is exactly {"alg":"XXXXX","typ":"JWT"}
 * with a known alg, the text libjwt 1.10 (this project's issuer) and most
 * other issuers write, or HU_ALG_UNKNOWN for any other text. Such a header
 * is valid JSON without kid or other parameters, so it needs no scan.
 */
static hu_alg common_header_alg(const unsigned char *text, size_t len)
{
	static const char prefix[] = "{\"alg\":\"", suffix[] = "\",\"typ\":\"JWT\"}";
	const size_t prefix_len = sizeof prefix - 1, suffix_len = sizeof suffix - 1;

	if (len != prefix_len + 5 + suffix_len ||
	    memcmp(text, prefix, prefix_len) != 0 ||
	    memcmp(text + prefix_len + 5, suffix, suffix_len) != 0)
		return HU_ALG_UNKNOWN;
	return hu_alg_from_name((const char *)text + prefix_len, 5);
}

/* Checks the header and selects the key. */
static hu_status check_header(const hu_verifier *v, const unsigned char *text,
    size_t len, const struct keyed **key_out, char *detail, size_t detail_size)
{
	unsigned char kid_text[HU_MAX_KID_BYTES];
	const char *kid = NULL;
	size_t kid_len = 0;
	hu_alg alg = common_header_alg(text, len);
	hu_status status;

	/* Anything but the common header, and a common header whose alg is not
	 * accepted, goes through the scan, which also writes the detail. */
	if (alg == HU_ALG_UNKNOWN || !(v->accepted_algs & (1u << alg))) {
		status = scan_header(v, text, len, &alg, kid_text, &kid_len, detail,
		    detail_size);
		if (status != HU_OK)
			return status;
	}
	if (kid_len > 0)
		kid = (const char *)kid_text;

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
		return HU_ERR_UNKNOWN_KEY;
	}
	if (hu_key_alg((*key_out)->key) != alg) {
		hu_set_detail(detail, detail_size,
		    "alg \"%s\" does not match the key's algorithm %s",
		    hu_alg_name(alg), hu_alg_name(hu_key_alg((*key_out)->key)));
		return HU_ERR_UNSUPPORTED_ALGORITHM;
	}
	return HU_OK;
}

/* Scans the payload, checks its claims and, when they pass, hands the scan
 * to visit (may be NULL). The scan's node array lives in this frame only. */
static hu_status check_payload(const hu_verifier *v, const unsigned char *text,
    size_t len, double now, hu_payload_visitor visit, void *context,
    char *detail, size_t detail_size)
{
	struct hu_json_node nodes[HU_JSON_MAX_NODES];
	struct hu_json_doc payload;
	struct hu_json_error error;
	int moderator = 0;
	double exp = 0;
	hu_status status;

	if (hu_json_scan(&payload, text, len, nodes, &error) != 0) {
		if (error.over_bounds)
			hu_set_detail(detail, detail_size,
			    "payload nests deeper than %d levels or has more than %d values",
			    HU_MAX_JSON_DEPTH, HU_MAX_JSON_VALUES);
		else
			hu_set_detail(detail, detail_size,
			    "payload is not valid JSON: %s at byte %zu", error.message,
			    error.offset);
		return HU_ERR_INVALID_JSON;
	}
	if (hu_json_type_of(&payload, 0) != HU_JSON_OBJECT) {
		hu_set_detail(detail, detail_size, "payload is not a JSON object");
		return HU_ERR_INVALID_JSON;
	}
	status = hu_check_claims(v, &payload, now, &moderator, &exp, detail,
	    detail_size);
	if (status != HU_OK || visit == NULL)
		return status;
	return visit(context, &payload, moderator, exp, detail, detail_size);
}

/* Builds the hu_claims of a verified payload, where context is the
 * hu_claims ** of hu_verify(). On the default-size path this is the only
 * step that allocates: jansson builds the claims for hu_claims' accessors. */
static hu_status build_claims(void *context, const struct hu_json_doc *payload,
    int moderator, double exp, char *detail, size_t detail_size)
{
	hu_claims **claims_out = context;
	hu_claims *claims = calloc(1, sizeof *claims);
	json_error_t error;

	if (claims == NULL)
		return HU_ERR_NO_MEMORY;
	claims->root = json_loadb((const char *)payload->text, payload->len,
	    JSON_REJECT_DUPLICATES, &error);
	if (claims->root == NULL) {
		/* The scan accepted what jansson rejects: only out of memory,
		 * unless the two disagree. */
		free(claims);
		hu_set_detail(detail, detail_size, "payload is not valid JSON: %s",
		    error.text);
		return json_error_code(&error) == json_error_out_of_memory ?
		    HU_ERR_NO_MEMORY : HU_ERR_INVALID_JSON;
	}
	claims->moderator = moderator;
	claims->exp = exp;
	*claims_out = claims;
	return HU_OK;
}

/* Decoded header, payload and signature share one buffer. Tokens up to the
 * default size cap decode into the stack; a verifier configured for larger
 * tokens allocates per call. */
#define STACK_DECODE_BYTES (HU_DEFAULT_MAX_SIZE / 4 * 3 + 8)

hu_status hu_verify(const hu_verifier *v, const char *token, size_t len,
    double now, hu_claims **claims_out, char *detail, size_t detail_size)
{
	if (claims_out != NULL)
		*claims_out = NULL;
	return hu_verify_visit(v, token, len, now,
	    claims_out != NULL ? build_claims : NULL, claims_out, detail,
	    detail_size);
}

hu_status hu_verify_visit(const hu_verifier *v, const char *token, size_t len,
    double now, hu_payload_visitor visit, void *context, char *detail,
    size_t detail_size)
{
	unsigned char stack_buffer[STACK_DECODE_BYTES];
	unsigned char *buffer = stack_buffer, *header, *payload, *signature;
	struct segments seg;
	const struct keyed *key = NULL;
	long header_len, payload_len, signature_len;
	hu_status status;

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
		const char *segment = "signature";

		if (header_len < 0)
			segment = "header";
		else if (payload_len < 0)
			segment = "payload";
		hu_set_detail(detail, detail_size,
		    "%s segment is not canonical unpadded base64url", segment);
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

	/* 5. Claims, from one strict scan that allocates nothing, then the
	 * visitor, while the scan is still on the stack. */
	status = check_payload(v, payload, (size_t)payload_len, now, visit, context,
	    detail, detail_size);

out:
	if (buffer != stack_buffer) {
		OPENSSL_cleanse(buffer, len);
		free(buffer);
	}
	return status;
}
