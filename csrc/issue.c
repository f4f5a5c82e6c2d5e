/*
 * issue.c - the issuing side: hu_issuer and hu_issue().
 *
 * The claims are built with jansson, so that every string is escaped by a
 * JSON library, and handed to libjwt 1.10 (jwt_add_grants_json), which signs
 * them with the algorithm and key that the issuer sets explicitly. Private
 * keys are checked with OpenSSL before they reach libjwt, because libjwt
 * 1.10.2 signs RS256 with a 1024-bit RSA key and ES256 with a P-384 key
 * (tried with Debian 12's libjwt0 1.10.2-1+deb12u1).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "huddleup/token.h"
#include "issue_private.h"

#define DEFAULT_TTL 3600L   /* seconds */
#define MAX_TTL 604800L     /* seconds (7 days), the verifier's default max lifetime */
#define NBF_BACKDATE 10     /* seconds; absorbs clock skew between issuer and Prosody */
#define MAX_NOW INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define MAX_KEY_BYTES 65536 /* HMAC secret or PEM private key */
#define MIN_RSA_BITS 2048
#define RSA_EXPONENT 65537

enum key_kind { KEY_HMAC, KEY_RSA, KEY_EC };

struct alg_info {
	const char *name;
	jwt_alg_t alg;
	enum key_kind kind;
	int curve_nid;          /* EC only */
	const char *curve_name; /* EC only, as in the JOSE "crv" parameter */
};

static const struct alg_info supported_algs[] = {
	{ "HS256", JWT_ALG_HS256, KEY_HMAC, NID_undef, NULL },
	{ "HS384", JWT_ALG_HS384, KEY_HMAC, NID_undef, NULL },
	{ "HS512", JWT_ALG_HS512, KEY_HMAC, NID_undef, NULL },
	{ "RS256", JWT_ALG_RS256, KEY_RSA, NID_undef, NULL },
	{ "RS384", JWT_ALG_RS384, KEY_RSA, NID_undef, NULL },
	{ "RS512", JWT_ALG_RS512, KEY_RSA, NID_undef, NULL },
	{ "ES256", JWT_ALG_ES256, KEY_EC, NID_X9_62_prime256v1, "P-256" },
	{ "ES384", JWT_ALG_ES384, KEY_EC, NID_secp384r1, "P-384" },
};

struct hu_issuer {
	const struct alg_info *alg;
	char *app_id;
	char *audience;
	char *subject;      /* default "sub"; NULL writes none */
	char *kid;          /* "kid" header; NULL writes none */
	unsigned char *key; /* HMAC secret, or a NUL-terminated PEM private key */
	size_t key_len;     /* bytes, without the PEM's terminator */
};

static void set_detail(char *detail, size_t detail_size, const char *format,
    ...) __attribute__((format(printf, 3, 4)));

static void set_detail(char *detail, size_t detail_size, const char *format,
    ...)
{
	va_list args;

	if (detail == NULL || detail_size == 0)
		return;
	va_start(args, format);
	vsnprintf(detail, detail_size, format, args);
	va_end(args);
}

static void clear_detail(char *detail, size_t detail_size)
{
	if (detail != NULL && detail_size > 0)
		detail[0] = '\0';
}

/* Copies up to 32 bytes of text into buffer for a detail message, with
 * anything but printable ASCII replaced by "?". */
static const char *printable_excerpt(const char *text, char *buffer,
    size_t buffer_size)
{
	size_t i;

	for (i = 0; text[i] != '\0' && i < 32 && i + 1 < buffer_size; i++) {
		unsigned char c = (unsigned char)text[i];

		buffer[i] = (c >= 0x20 && c < 0x7f && c != '"') ? (char)c : '?';
	}
	buffer[i] = '\0';
	return buffer;
}

static char *copy_string(const char *text)
{
	size_t len = strlen(text);
	char *copy = malloc(len + 1);

	if (copy != NULL)
		memcpy(copy, text, len + 1);
	return copy;
}

static const struct alg_info *find_alg(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof supported_algs / sizeof supported_algs[0]; i++) {
		if (strcmp(supported_algs[i].name, name) == 0)
			return &supported_algs[i];
	}
	return NULL;
}

/*
 * Decodes the UTF-8 sequence at bytes (left bytes available) into
 * *code_point. Returns its length (1 to 4), or 0 when it is malformed:
 * truncated, a stray continuation byte, overlong, a surrogate or above
 * U+10FFFF.
 */
static size_t decode_utf8(const unsigned char *bytes, size_t left,
    unsigned long *code_point)
{
	unsigned long value;
	unsigned long min_value;
	size_t len;
	size_t i;

	if (bytes[0] < 0x80) {
		*code_point = bytes[0];
		return 1;
	}
	if (bytes[0] >= 0xc2 && bytes[0] <= 0xdf) {
		len = 2;
		value = bytes[0] & 0x1f;
		min_value = 0x80;
	} else if (bytes[0] >= 0xe0 && bytes[0] <= 0xef) {
		len = 3;
		value = bytes[0] & 0x0f;
		min_value = 0x800;
	} else if (bytes[0] >= 0xf0 && bytes[0] <= 0xf4) {
		len = 4;
		value = bytes[0] & 0x07;
		min_value = 0x10000;
	} else {
		return 0;
	}
	if (left < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((bytes[i] & 0xc0) != 0x80)
			return 0;
		value = (value << 6) | (bytes[i] & 0x3f);
	}
	if (value < min_value || value > 0x10ffff ||
	    (value >= 0xd800 && value <= 0xdfff))
		return 0;
	*code_point = value;
	return len;
}

/* C0 controls, DEL and C1 controls. */
static int is_control(unsigned long code_point)
{
	return code_point < 0x20 || (code_point >= 0x7f && code_point <= 0x9f);
}

/*
 * Checks a string that becomes a claim or a header: non-empty, at most
 * HU_MAX_FIELD_BYTES bytes of valid UTF-8, no control characters. Returns
 * HU_OK or error, with a detail that names field.
 */
static hu_status check_text(const char *field, const char *text,
    hu_status error, char *detail, size_t detail_size)
{
	const unsigned char *bytes = (const unsigned char *)text;
	unsigned long code_point;
	size_t len;
	size_t step;
	size_t i;

	if (text == NULL) {
		set_detail(detail, detail_size, "%s is missing", field);
		return error;
	}
	len = strlen(text);
	if (len == 0) {
		set_detail(detail, detail_size, "%s is empty", field);
		return error;
	}
	if (len > HU_MAX_FIELD_BYTES) {
		set_detail(detail, detail_size,
		    "%s is %zu bytes, more than the maximum of %d", field, len,
		    HU_MAX_FIELD_BYTES);
		return error;
	}

	for (i = 0; i < len; i += step) {
		step = decode_utf8(bytes + i, len - i, &code_point);
		if (step == 0) {
			set_detail(detail, detail_size,
			    "%s is not valid UTF-8 at byte %zu", field, i);
			return error;
		}
		if (is_control(code_point)) {
			set_detail(detail, detail_size,
			    "%s contains a control character at byte %zu",
			    field, i);
			return error;
		}
	}
	return HU_OK;
}

static size_t count_char(const char *text, char wanted)
{
	size_t count = 0;

	for (; *text != '\0'; text++)
		count += *text == wanted;
	return count;
}

hu_status hu_issue_check_room(const char *room, char *detail,
    size_t detail_size)
{
	const char *forbidden;
	hu_status status;

	status = check_text("room", room, HU_ERR_INVALID_ARGUMENT, detail,
	    detail_size);
	if (status != HU_OK)
		return status;
	/* A room name is a JID localpart, at most 1023 bytes (RFC 7622), and
	 * the verifier rejects a longer room claim. Each "%" takes 3 bytes in
	 * the claim (see room_claim()). */
	if (strlen(room) + 2 * count_char(room, '%') > 1023) {
		set_detail(detail, detail_size,
		    "room is %zu bytes in the claim, more than the maximum of 1023",
		    strlen(room) + 2 * count_char(room, '%'));
		return HU_ERR_INVALID_ARGUMENT;
	}

	/* "@" and "/" separate the node, domain and resource of a JID. */
	forbidden = strpbrk(room, "@/");
	if (forbidden != NULL) {
		set_detail(detail, detail_size,
		    "room contains \"%c\" at byte %zu, which a MUC room name "
		    "cannot contain", *forbidden, (size_t)(forbidden - room));
		return HU_ERR_INVALID_ARGUMENT;
	}
	return HU_OK;
}

/* The PEM password callback: encrypted keys are rejected instead of
 * prompting on the terminal, which OpenSSL's default callback does. */
static int reject_password(char *buffer, int size, int rwflag, void *user)
{
	(void)buffer;
	(void)size;
	(void)rwflag;
	(void)user;
	return -1;
}

static hu_status check_rsa_key(const struct alg_info *alg, EVP_PKEY *pkey,
    char *detail, size_t detail_size)
{
	BIGNUM *exponent = NULL;
	int exponent_ok;
	int bits;

	bits = EVP_PKEY_get_bits(pkey);
	if (bits < MIN_RSA_BITS) {
		set_detail(detail, detail_size,
		    "RSA key has %d bits, but %s needs at least %d", bits,
		    alg->name, MIN_RSA_BITS);
		return HU_ERR_CONFIGURATION;
	}
	if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &exponent)) {
		set_detail(detail, detail_size,
		    "could not read the RSA key's public exponent");
		return HU_ERR_CONFIGURATION;
	}
	exponent_ok = BN_is_word(exponent, RSA_EXPONENT);
	BN_free(exponent);
	if (!exponent_ok) {
		set_detail(detail, detail_size,
		    "RSA key's public exponent is not %d", RSA_EXPONENT);
		return HU_ERR_CONFIGURATION;
	}
	return HU_OK;
}

static hu_status check_ec_key(const struct alg_info *alg, EVP_PKEY *pkey,
    char *detail, size_t detail_size)
{
	char group[80];
	size_t group_len = 0;
	const char *curve;
	int nid;

	if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof group, &group_len)) {
		set_detail(detail, detail_size,
		    "EC key has no named curve, but %s needs %s", alg->name,
		    alg->curve_name);
		return HU_ERR_CONFIGURATION;
	}
	nid = OBJ_sn2nid(group);
	if (nid == NID_undef)
		nid = EC_curve_nist2nid(group);
	if (nid != alg->curve_nid) {
		curve = EC_curve_nid2nist(nid);
		set_detail(detail, detail_size,
		    "EC key is on curve %s, but %s needs %s",
		    curve != NULL ? curve : group, alg->name, alg->curve_name);
		return HU_ERR_CONFIGURATION;
	}
	return HU_OK;
}

/* Checks that pem contains an unencrypted private key that fits alg. */
static hu_status check_private_key(const struct alg_info *alg,
    const char *pem, size_t pem_len, char *detail, size_t detail_size)
{
	EVP_PKEY *pkey;
	BIO *bio;
	hu_status status;
	int expected_type = alg->kind == KEY_RSA ? EVP_PKEY_RSA : EVP_PKEY_EC;

	bio = BIO_new_mem_buf(pem, (int)pem_len);
	if (bio == NULL) {
		ERR_clear_error();
		set_detail(detail, detail_size, "out of memory");
		return HU_ERR_NO_MEMORY;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, reject_password, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		ERR_clear_error();
		set_detail(detail, detail_size,
		    "no unencrypted PEM private key found");
		return HU_ERR_CONFIGURATION;
	}

	if (EVP_PKEY_get_base_id(pkey) != expected_type) {
		set_detail(detail, detail_size, "%s needs an %s key, not %s",
		    alg->name, alg->kind == KEY_RSA ? "RSA" : "EC",
		    EVP_PKEY_get0_type_name(pkey) != NULL ?
		    EVP_PKEY_get0_type_name(pkey) : "this key type");
		status = HU_ERR_CONFIGURATION;
	} else if (alg->kind == KEY_RSA) {
		status = check_rsa_key(alg, pkey, detail, detail_size);
	} else {
		status = check_ec_key(alg, pkey, detail, detail_size);
	}

	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return status;
}

/* Allocates an issuer for alg and app_id with the default audience and no
 * key. */
static hu_status issuer_alloc(const struct alg_info *alg, const char *app_id,
    hu_issuer **out, char *detail, size_t detail_size)
{
	hu_issuer *issuer;

	issuer = calloc(1, sizeof *issuer);
	if (issuer == NULL) {
		set_detail(detail, detail_size, "out of memory");
		return HU_ERR_NO_MEMORY;
	}
	issuer->alg = alg;
	issuer->app_id = copy_string(app_id);
	issuer->audience = copy_string(HU_DEFAULT_AUDIENCE);
	if (issuer->app_id == NULL || issuer->audience == NULL) {
		hu_issuer_free(issuer);
		set_detail(detail, detail_size, "out of memory");
		return HU_ERR_NO_MEMORY;
	}
	*out = issuer;
	return HU_OK;
}

hu_status hu_issuer_new_hmac(hu_issuer **out, const char *alg,
    const char *app_id, const void *secret, size_t secret_len,
    char *detail, size_t detail_size)
{
	const struct alg_info *info;
	hu_issuer *issuer = NULL;
	char excerpt[40];
	hu_status status;

	clear_detail(detail, detail_size);
	if (out == NULL) {
		set_detail(detail, detail_size, "out is NULL");
		return HU_ERR_INVALID_ARGUMENT;
	}
	*out = NULL;

	if (alg == NULL)
		alg = "HS256";
	info = find_alg(alg);
	if (info == NULL || info->kind != KEY_HMAC) {
		set_detail(detail, detail_size,
		    "unsupported HMAC algorithm \"%s\"; use HS256, HS384 or "
		    "HS512", printable_excerpt(alg, excerpt, sizeof excerpt));
		return HU_ERR_CONFIGURATION;
	}
	status = check_text("app_id", app_id, HU_ERR_CONFIGURATION, detail,
	    detail_size);
	if (status != HU_OK)
		return status;
	if (secret == NULL || secret_len < HU_MIN_HMAC_SECRET) {
		set_detail(detail, detail_size,
		    "HMAC secret is %zu bytes, but at least %d are required",
		    secret == NULL ? (size_t)0 : secret_len,
		    HU_MIN_HMAC_SECRET);
		return HU_ERR_CONFIGURATION;
	}
	if (secret_len > MAX_KEY_BYTES) {
		set_detail(detail, detail_size,
		    "HMAC secret is %zu bytes, more than the maximum of %d",
		    secret_len, MAX_KEY_BYTES);
		return HU_ERR_CONFIGURATION;
	}

	status = issuer_alloc(info, app_id, &issuer, detail, detail_size);
	if (status != HU_OK)
		return status;
	issuer->key = malloc(secret_len);
	if (issuer->key == NULL) {
		hu_issuer_free(issuer);
		set_detail(detail, detail_size, "out of memory");
		return HU_ERR_NO_MEMORY;
	}
	memcpy(issuer->key, secret, secret_len);
	issuer->key_len = secret_len;

	*out = issuer;
	return HU_OK;
}

hu_status hu_issuer_new_private_key_pem(hu_issuer **out, const char *alg,
    const char *app_id, const char *kid, const char *pem, size_t pem_len,
    char *detail, size_t detail_size)
{
	const struct alg_info *info;
	hu_issuer *issuer = NULL;
	char excerpt[40];
	hu_status status;

	clear_detail(detail, detail_size);
	if (out == NULL) {
		set_detail(detail, detail_size, "out is NULL");
		return HU_ERR_INVALID_ARGUMENT;
	}
	*out = NULL;

	if (alg == NULL) {
		set_detail(detail, detail_size,
		    "alg is missing; use RS256, RS384, RS512, ES256 or ES384");
		return HU_ERR_CONFIGURATION;
	}
	info = find_alg(alg);
	if (info == NULL || info->kind == KEY_HMAC) {
		set_detail(detail, detail_size,
		    "unsupported public-key algorithm \"%s\"; use RS256, RS384, "
		    "RS512, ES256 or ES384",
		    printable_excerpt(alg, excerpt, sizeof excerpt));
		return HU_ERR_CONFIGURATION;
	}
	status = check_text("app_id", app_id, HU_ERR_CONFIGURATION, detail,
	    detail_size);
	if (status != HU_OK)
		return status;
	if (kid != NULL) {
		status = check_text("kid", kid, HU_ERR_CONFIGURATION, detail,
		    detail_size);
		if (status != HU_OK)
			return status;
		/* Verifiers accept a kid of up to HU_KID_SIZE - 1 bytes. */
		if (strlen(kid) >= HU_KID_SIZE) {
			set_detail(detail, detail_size,
			    "kid is %zu bytes, more than the maximum of %d",
			    strlen(kid), HU_KID_SIZE - 1);
			return HU_ERR_CONFIGURATION;
		}
	}
	if (pem == NULL || pem_len == 0) {
		set_detail(detail, detail_size, "PEM private key is missing");
		return HU_ERR_CONFIGURATION;
	}
	if (pem_len > MAX_KEY_BYTES) {
		set_detail(detail, detail_size,
		    "PEM private key is %zu bytes, more than the maximum of %d",
		    pem_len, MAX_KEY_BYTES);
		return HU_ERR_CONFIGURATION;
	}
	status = check_private_key(info, pem, pem_len, detail, detail_size);
	if (status != HU_OK)
		return status;

	status = issuer_alloc(info, app_id, &issuer, detail, detail_size);
	if (status != HU_OK)
		return status;
	issuer->key = malloc(pem_len + 1);
	issuer->kid = kid != NULL ? copy_string(kid) : NULL;
	if (issuer->key == NULL || (kid != NULL && issuer->kid == NULL)) {
		hu_issuer_free(issuer);
		set_detail(detail, detail_size, "out of memory");
		return HU_ERR_NO_MEMORY;
	}
	memcpy(issuer->key, pem, pem_len);
	issuer->key[pem_len] = '\0';
	issuer->key_len = pem_len;

	*out = issuer;
	return HU_OK;
}

void hu_issuer_free(hu_issuer *issuer)
{
	if (issuer == NULL)
		return;
	if (issuer->key != NULL) {
		OPENSSL_cleanse(issuer->key, issuer->key_len);
		free(issuer->key);
	}
	free(issuer->app_id);
	free(issuer->audience);
	free(issuer->subject);
	free(issuer->kid);
	free(issuer);
}

hu_status hu_issuer_set_audience(hu_issuer *issuer, const char *audience)
{
	char *copy;

	if (issuer == NULL ||
	    check_text("audience", audience, HU_ERR_INVALID_ARGUMENT, NULL, 0)
	    != HU_OK)
		return HU_ERR_INVALID_ARGUMENT;

	copy = copy_string(audience);
	if (copy == NULL)
		return HU_ERR_NO_MEMORY;
	free(issuer->audience);
	issuer->audience = copy;
	return HU_OK;
}

hu_status hu_issuer_set_subject(hu_issuer *issuer, const char *sub)
{
	char *copy = NULL;

	if (issuer == NULL)
		return HU_ERR_INVALID_ARGUMENT;
	/* NULL removes the default, so that requests without sub get none. */
	if (sub != NULL) {
		if (check_text("sub", sub, HU_ERR_INVALID_ARGUMENT, NULL, 0)
		    != HU_OK)
			return HU_ERR_INVALID_ARGUMENT;
		copy = copy_string(sub);
		if (copy == NULL)
			return HU_ERR_NO_MEMORY;
	}

	free(issuer->subject);
	issuer->subject = copy;
	return HU_OK;
}

/* Checks request and now, and stores the lifetime to use in *ttl_out. */
static hu_status check_request(const hu_token_request *request, int64_t now,
    long *ttl_out, char *detail, size_t detail_size)
{
	const struct {
		const char *field;
		const char *value;
	} optional_fields[] = {
		{ "sub", request->sub },
		{ "context.user.name", request->name },
		{ "context.user.email", request->email },
		{ "context.user.id", request->id },
		{ "context.user.avatar", request->avatar },
		{ "context.group", request->group },
	};
	hu_status status;
	size_t i;

	status = hu_issue_check_room(request->room, detail, detail_size);
	if (status != HU_OK)
		return status;
	for (i = 0; i < sizeof optional_fields / sizeof optional_fields[0];
	    i++) {
		if (optional_fields[i].value == NULL)
			continue;
		status = check_text(optional_fields[i].field,
		    optional_fields[i].value, HU_ERR_INVALID_ARGUMENT, detail,
		    detail_size);
		if (status != HU_OK)
			return status;
	}

	if (request->ttl == 0) {
		*ttl_out = DEFAULT_TTL;
	} else if (request->ttl < 1 || request->ttl > MAX_TTL) {
		set_detail(detail, detail_size,
		    "ttl is %ld seconds, but it must be from 1 to %ld (7 days)",
		    request->ttl, MAX_TTL);
		return HU_ERR_INVALID_ARGUMENT;
	} else {
		*ttl_out = request->ttl;
	}

	if (now < 0 || now > MAX_NOW) {
		set_detail(detail, detail_size,
		    "now is %" PRId64 ", outside 0 to %" PRId64
		    " seconds since the epoch", now, MAX_NOW);
		return HU_ERR_INVALID_ARGUMENT;
	}
	return HU_OK;
}

/* Adds key: value to object when value is not NULL. Returns 0 or -1. */
static int set_optional_string(json_t *object, const char *key,
    const char *value)
{
	if (value == NULL)
		return 0;
	return json_object_set_new(object, key, json_string(value));
}

/*
 * Builds the Jitsi claims of a checked request. Returns NULL when out of
 * memory. json_object_set_new() takes over its value even when it fails,
 * so only the top-level object needs freeing on failure.
 */

/*
 * Returns the "room" claim for a room name: the name itself, with each "%"
 * written as "%25". Verifiers accept room claims given raw or already
 * percent-encoded, so a raw "%" would be read as the start of an escape:
 * the room "w%65ekly" would then admit the room "weekly".
 */
static json_t *room_claim(const char *room)
{
	char escaped[3 * 1023 + 1];
	size_t in, out = 0;

	/* hu_issue_check_room() has limited the room to 1023 bytes. */
	for (in = 0; room[in] != '\0' && out + 3 < sizeof escaped; in++) {
		if (room[in] == '%') {
			memcpy(escaped + out, "%25", 3);
			out += 3;
		} else {
			escaped[out++] = room[in];
		}
	}
	return json_stringn(escaped, out);
}

static json_t *build_claims(const hu_issuer *issuer,
    const hu_token_request *request, int64_t now, long ttl)
{
	const char *sub = request->sub != NULL ? request->sub : issuer->subject;
	int moderator = request->moderator != 0;
	json_t *claims = json_object();
	json_t *context = json_object();
	json_t *user = json_object();
	int failed = 0;

	if (claims == NULL || context == NULL || user == NULL) {
		json_decref(claims);
		json_decref(context);
		json_decref(user);
		return NULL;
	}

	failed |= json_object_set_new(claims, "iss",
	    json_string(issuer->app_id));
	failed |= json_object_set_new(claims, "aud",
	    json_string(issuer->audience));
	failed |= set_optional_string(claims, "sub", sub);
	failed |= json_object_set_new(claims, "room",
	    room_claim(request->room));
	failed |= json_object_set_new(claims, "iat", json_integer(now));
	failed |= json_object_set_new(claims, "nbf",
	    json_integer(now >= NBF_BACKDATE ? now - NBF_BACKDATE : 0));
	failed |= json_object_set_new(claims, "exp", json_integer(now + ttl));
	failed |= json_object_set_new(claims, "moderator",
	    json_boolean(moderator));

	failed |= set_optional_string(user, "id", request->id);
	failed |= set_optional_string(user, "name", request->name);
	failed |= set_optional_string(user, "email", request->email);
	failed |= set_optional_string(user, "avatar", request->avatar);
	failed |= json_object_set_new(user, "moderator",
	    json_boolean(moderator));
	failed |= json_object_set_new(context, "user", user);
	failed |= set_optional_string(context, "group", request->group);
	failed |= json_object_set_new(claims, "context", context);

	if (failed) {
		json_decref(claims);
		return NULL;
	}
	return claims;
}

static hu_status status_from_errno(int error)
{
	return error == ENOMEM ? HU_ERR_NO_MEMORY : HU_ERR_INTERNAL;
}

/* Signs claims_text (a JSON object) with libjwt. On HU_OK, *token_out is a
 * string that free() releases. */
static hu_status sign_claims(const hu_issuer *issuer, const char *claims_text,
    char **token_out, char *detail, size_t detail_size)
{
	jwt_t *jwt = NULL;
	char *token;
	int error;

	error = jwt_new(&jwt);
	if (error != 0) {
		set_detail(detail, detail_size,
		    "libjwt could not create a token (error %d)", error);
		return status_from_errno(error);
	}
	error = jwt_add_grants_json(jwt, claims_text);
	if (error == 0)
		error = jwt_set_alg(jwt, issuer->alg->alg, issuer->key,
		    (int)issuer->key_len);
	if (error == 0 && issuer->kid != NULL)
		error = jwt_add_header(jwt, "kid", issuer->kid);
	if (error != 0) {
		jwt_free(jwt);
		set_detail(detail, detail_size,
		    "libjwt rejected the claims or the key (error %d)", error);
		return status_from_errno(error);
	}

	errno = 0;
	token = jwt_encode_str(jwt);
	error = errno;
	jwt_free(jwt); /* also wipes libjwt's copy of the key */
	ERR_clear_error();
	if (token == NULL) {
		set_detail(detail, detail_size,
		    "libjwt could not sign the token with %s (error %d)",
		    issuer->alg->name, error);
		return status_from_errno(error);
	}
	*token_out = token;
	return HU_OK;
}

hu_status hu_issue(const hu_issuer *issuer, const hu_token_request *request,
    int64_t now, char **token_out, char *detail, size_t detail_size)
{
	json_t *claims;
	char *claims_text;
	char *token = NULL;
	size_t token_len;
	hu_status status;
	long ttl = DEFAULT_TTL;

	clear_detail(detail, detail_size);
	if (token_out != NULL)
		*token_out = NULL;
	if (issuer == NULL || request == NULL || token_out == NULL) {
		set_detail(detail, detail_size,
		    "issuer, request and token_out must not be NULL");
		return HU_ERR_INVALID_ARGUMENT;
	}
	status = check_request(request, now, &ttl, detail, detail_size);
	if (status != HU_OK)
		return status;

	claims = build_claims(issuer, request, now, ttl);
	claims_text = claims != NULL ? json_dumps(claims, JSON_COMPACT) : NULL;
	json_decref(claims);
	if (claims_text == NULL) {
		set_detail(detail, detail_size, "out of memory");
		return HU_ERR_NO_MEMORY;
	}
	status = sign_claims(issuer, claims_text, &token, detail, detail_size);
	free(claims_text);
	if (status != HU_OK)
		return status;

	/* Every field fits HU_MAX_FIELD_BYTES, but together they can still
	 * exceed what a verifier with default settings accepts. */
	token_len = strlen(token);
	if (token_len > HU_DEFAULT_MAX_SIZE) {
		free(token);
		set_detail(detail, detail_size,
		    "token would be %zu bytes, more than the verifier's default "
		    "maximum of %d; shorten the request's strings", token_len,
		    HU_DEFAULT_MAX_SIZE);
		return HU_ERR_INVALID_ARGUMENT;
	}

	*token_out = token;
	return HU_OK;
}
