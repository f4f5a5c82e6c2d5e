/*
 * Differential check of the verifier against libjwt 1.10.2 (jwt_decode).
 *
 * A seeded generator builds valid tokens for several keys and mutates them.
 * It edits headers and claims, and signs the result with the right key,
 * with the header's algorithm over the same key material, with a wrong key,
 * or not at all. It also changes the base64 alphabet and padding, flips
 * bits, swaps and truncates segments. Each token goes to hu_verify() and,
 * when it is safe for libjwt 1.10.2, to jwt_decode() with the same key.
 * The rules:
 *
 * - A token the verifier accepts, libjwt accepts too, with the same alg
 *   (jwt_get_alg) and the same claims.
 * - A token libjwt accepts and the verifier rejects is rejected for a claim
 *   check, for strict encoding, or for the header policy. A
 *   signature-mismatch here would mean that one of the two checks
 *   signatures wrongly, so it fails the test, as any other reason does.
 *
 * libjwt 1.10.2 never sees a token with an empty segment (it writes one
 * byte past a heap block), one longer than 8192 bytes (it decodes each
 * segment into alloca'd stack memory), one without exactly three segments
 * or one with a NUL byte (it reads a C string, so it would check another
 * token). It never gets an empty key either.
 *
 * The run stops after HU_DIFF_CASES cases (default 300000) or
 * HU_DIFF_SECONDS seconds (default 60), whichever comes first. The seed is
 * printed, and HU_DIFF_SEED repeats a run. With HU_DIFF_CORPUS_DIR set, the
 * first cases are also saved as fuzzing seeds: tokens in
 * fuzz_verify/ and "header NUL payload" texts in fuzz_claims/ below it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "harness.h"
#include "huddleup/token.h"

#define NOW 1767225600
#define APP_ID "diff-app"
#define DEFAULT_CASES 300000L
#define DEFAULT_SECONDS 60.0
#define LIBJWT_MAX_TOKEN 8192
#define REFERENCE_REFRESH 64 /* cases between new reference tokens per key */
#define MAX_PRINTED_FAILURES 10
#define MAX_CORPUS_CASES 400 /* cases saved under HU_DIFF_CORPUS_DIR */

/* ---------------------------------------------------------------------
 * Byte buffers and the PRNG
 * ------------------------------------------------------------------- */

struct buffer {
	char *data;
	size_t len, cap;
};

static void buffer_append(struct buffer *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *grown;

		while (cap < b->len + len + 1)
			cap *= 2;
		grown = realloc(b->data, cap);
		if (grown == NULL) {
			fprintf(stderr, "test_differential: out of memory\n");
			exit(2);
		}
		b->data = grown;
		b->cap = cap;
	}
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

static void buffer_puts(struct buffer *b, const char *text)
{
	buffer_append(b, text, strlen(text));
}

static void buffer_set(struct buffer *b, const void *data, size_t len)
{
	b->len = 0;
	buffer_append(b, data, len);
}

static void buffer_insert(struct buffer *b, size_t at, const void *data,
    size_t len)
{
	size_t tail = b->len - at;

	buffer_append(b, data, len); /* grows; the bytes are moved below */
	memmove(b->data + at + len, b->data + at, tail);
	memcpy(b->data + at, data, len);
	b->data[b->len] = '\0';
}

static void buffer_erase(struct buffer *b, size_t at, size_t len)
{
	memmove(b->data + at, b->data + at + len, b->len - at - len);
	b->len -= len;
	b->data[b->len] = '\0';
}

static void buffer_free(struct buffer *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* SplitMix64: small, fast, and the same sequence on every platform. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

static size_t rng_below(size_t n)
{
	return n == 0 ? 0 : (size_t)(rng_next() % n);
}

static int rng_percent(unsigned percent)
{
	return rng_below(100) < percent;
}

#define PICK(array) (array)[rng_below(sizeof(array) / sizeof((array)[0]))]

/* ---------------------------------------------------------------------
 * Base64url, written here independently of the library's decoder
 * ------------------------------------------------------------------- */

enum encoding {
	ENCODING_CANONICAL,
	ENCODING_PADDED,          /* '=' padding kept */
	ENCODING_STANDARD,        /* '+' and '/' instead of '-' and '_' */
	ENCODING_NONZERO_BITS,    /* unused bits of the last character set */
	ENCODING_LINE_BREAK,      /* a '\n' in the middle */
	ENCODING_COUNT
};

static void base64_append(struct buffer *out, const unsigned char *in,
    size_t len, enum encoding encoding)
{
	const char *alphabet = encoding == ENCODING_STANDARD ?
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" :
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t start = out->len, i;
	uint32_t v;
	char quad[4];

	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		quad[0] = alphabet[v >> 18 & 63];
		quad[1] = alphabet[v >> 12 & 63];
		quad[2] = alphabet[v >> 6 & 63];
		quad[3] = alphabet[v & 63];
		buffer_append(out, quad, 4);
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		/* 4 unused bits in the second character. */
		quad[0] = alphabet[v >> 18 & 63];
		quad[1] = alphabet[(v >> 12 & 63) |
		    (encoding == ENCODING_NONZERO_BITS ? 1 : 0)];
		buffer_append(out, quad, 2);
		if (encoding == ENCODING_PADDED)
			buffer_puts(out, "==");
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		/* 2 unused bits in the third character. */
		quad[0] = alphabet[v >> 18 & 63];
		quad[1] = alphabet[v >> 12 & 63];
		quad[2] = alphabet[(v >> 6 & 63) |
		    (encoding == ENCODING_NONZERO_BITS ? 1 : 0)];
		buffer_append(out, quad, 3);
		if (encoding == ENCODING_PADDED)
			buffer_puts(out, "=");
	}
	if (encoding == ENCODING_LINE_BREAK && out->len - start > 2)
		buffer_insert(out, start + (out->len - start) / 2, "\n", 1);
}

static enum encoding pick_encoding(unsigned percent_non_canonical)
{
	if (!rng_percent(percent_non_canonical))
		return ENCODING_CANONICAL;
	return (enum encoding)(1 + rng_below(ENCODING_COUNT - 1));
}

/* ---------------------------------------------------------------------
 * Keys and signing
 * ------------------------------------------------------------------- */

enum key_kind { KIND_HMAC, KIND_RSA, KIND_EC };

/* One verifier configuration: a single default key for one algorithm. */
struct config {
	const char *alg;
	jwt_alg_t jwt_alg;
	enum key_kind kind;
	unsigned weight;               /* relative share of the cases */
	unsigned char secret[64];      /* HMAC */
	size_t secret_len;
	unsigned char wrong_secret[64];
	EVP_PKEY *key, *wrong_key;     /* RSA and EC private keys */
	char *public_pem;
	hu_verifier *verifier;
	const unsigned char *libjwt_key; /* the secret, or the public PEM */
	int libjwt_key_len;
	struct buffer reference;       /* a valid token, refreshed now and then */
};

static struct config configs[] = {
	{ .alg = "HS256", .jwt_alg = JWT_ALG_HS256, .kind = KIND_HMAC, .weight = 45 },
	{ .alg = "HS384", .jwt_alg = JWT_ALG_HS384, .kind = KIND_HMAC, .weight = 15 },
	{ .alg = "HS512", .jwt_alg = JWT_ALG_HS512, .kind = KIND_HMAC, .weight = 15 },
	{ .alg = "RS256", .jwt_alg = JWT_ALG_RS256, .kind = KIND_RSA, .weight = 3 },
	{ .alg = "RS512", .jwt_alg = JWT_ALG_RS512, .kind = KIND_RSA, .weight = 1 },
	{ .alg = "ES256", .jwt_alg = JWT_ALG_ES256, .kind = KIND_EC, .weight = 15 },
	{ .alg = "ES384", .jwt_alg = JWT_ALG_ES384, .kind = KIND_EC, .weight = 2 },
};

#define CONFIG_COUNT (sizeof configs / sizeof configs[0])

static const EVP_MD *digest_for(const char *alg)
{
	if (strcmp(alg + 2, "256") == 0)
		return EVP_sha256();
	if (strcmp(alg + 2, "384") == 0)
		return EVP_sha384();
	return EVP_sha512();
}

static int is_known_alg(const char *alg)
{
	static const char *const known[] = {
		"HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
		"ES256", "ES384", "ES512",
	};
	size_t i;

	for (i = 0; i < sizeof known / sizeof *known; i++)
		if (strcmp(alg, known[i]) == 0)
			return 1;
	return 0;
}

static char *public_pem_of(EVP_PKEY *key)
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

/* Writes the JWS signature of msg with an RSA or EC key: the raw RSA
 * signature, or r||s with each half padded to half bytes. */
static int sign_with_pkey(EVP_PKEY *key, const EVP_MD *md, size_t half,
    const char *msg, size_t msg_len, unsigned char *sig, size_t *sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char der[256];
	size_t der_len = sizeof der;
	const unsigned char *p = der;
	ECDSA_SIG *ec_sig;
	int ok;

	ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, md, NULL, key) == 1;
	if (ok && half == 0) {
		ok = EVP_DigestSign(ctx, sig, sig_len, (const unsigned char *)msg,
		    msg_len) == 1;
	} else if (ok) {
		ok = EVP_DigestSign(ctx, der, &der_len, (const unsigned char *)msg,
		    msg_len) == 1;
		ec_sig = ok ? d2i_ECDSA_SIG(NULL, &p, (long)der_len) : NULL;
		ok = ec_sig != NULL &&
		    BN_bn2binpad(ECDSA_SIG_get0_r(ec_sig), sig, (int)half) == (int)half &&
		    BN_bn2binpad(ECDSA_SIG_get0_s(ec_sig), sig + half, (int)half) == (int)half;
		ECDSA_SIG_free(ec_sig);
		*sig_len = 2 * half;
	}
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok ? 0 : -1;
}

/*
 * Signs msg for alg with the key material of config c: the right key, or
 * the wrong one when wrong is set. An HMAC alg on a public-key config uses
 * the public PEM as the secret, which is how an algorithm-confusion attack
 * signs. Returns -1 when c has no key that can sign alg.
 */
static int sign_message(const struct config *c, const char *alg, int wrong,
    const char *msg, size_t msg_len, unsigned char *sig, size_t *sig_len)
{
	const EVP_MD *md = digest_for(alg);
	unsigned int mac_len = 0;

	if (alg[0] == 'H') {
		const void *key = c->kind == KIND_HMAC ?
		    (wrong ? c->wrong_secret : c->secret) :
		    (wrong ? (const void *)c->wrong_secret : (const void *)c->public_pem);
		size_t key_len = c->kind == KIND_HMAC || wrong ? c->secret_len :
		    strlen(c->public_pem);

		if (HMAC(md, key, (int)key_len, (const unsigned char *)msg, msg_len,
		        sig, &mac_len) == NULL)
			return -1;
		*sig_len = mac_len;
		return 0;
	}
	if (alg[0] == 'R' && c->kind == KIND_RSA)
		return sign_with_pkey(wrong ? c->wrong_key : c->key, md, 0, msg,
		    msg_len, sig, sig_len);
	if (alg[0] == 'E' && c->kind == KIND_EC &&
	    strcmp(alg, c->alg) == 0)
		return sign_with_pkey(wrong ? c->wrong_key : c->key, md,
		    strcmp(alg, "ES256") == 0 ? 32 : 48, msg, msg_len, sig, sig_len);
	return -1;
}

static void fill_random(unsigned char *bytes, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		bytes[i] = (unsigned char)rng_next();
}

static int setup_configs(void)
{
	char detail[HU_DETAIL_SIZE] = "";
	EVP_PKEY *rsa = EVP_RSA_gen(2048), *wrong_rsa = EVP_RSA_gen(2048);
	size_t i;
	int ok = rsa != NULL && wrong_rsa != NULL;

	for (i = 0; ok && i < CONFIG_COUNT; i++) {
		struct config *c = &configs[i];
		hu_status status;

		if (c->kind == KIND_HMAC) {
			/* A secret of 32 to 64 bytes, none of them NUL: libjwt
			 * copies key_len bytes, so NUL would be fine, but a
			 * readable failure report is easier without. */
			c->secret_len = 32 + rng_below(33);
			fill_random(c->secret, sizeof c->secret);
			fill_random(c->wrong_secret, sizeof c->wrong_secret);
			c->libjwt_key = c->secret;
			c->libjwt_key_len = (int)c->secret_len;
		} else {
			if (c->kind == KIND_RSA) {
				c->key = rsa;
				c->wrong_key = wrong_rsa;
				EVP_PKEY_up_ref(rsa);
				EVP_PKEY_up_ref(wrong_rsa);
			} else {
				const char *curve = strcmp(c->alg, "ES256") == 0 ?
				    "P-256" : "P-384";

				c->key = EVP_EC_gen(curve);
				c->wrong_key = EVP_EC_gen(curve);
			}
			c->public_pem = c->key ? public_pem_of(c->key) : NULL;
			if (c->public_pem == NULL || c->wrong_key == NULL) {
				ok = 0;
				break;
			}
			c->libjwt_key = (const unsigned char *)c->public_pem;
			c->libjwt_key_len = (int)strlen(c->public_pem);
			/* Keys for the HMAC-confusion signer when wrong is set. */
			c->secret_len = 32;
			fill_random(c->wrong_secret, sizeof c->wrong_secret);
		}

		c->verifier = hu_verifier_new();
		if (c->verifier == NULL) {
			ok = 0;
			break;
		}
		status = c->kind == KIND_HMAC ?
		    hu_verifier_add_hmac_key(c->verifier, NULL, c->alg, c->secret,
		        c->secret_len, detail, sizeof detail) :
		    hu_verifier_add_public_key_pem(c->verifier, NULL, c->alg,
		        c->public_pem, strlen(c->public_pem), detail, sizeof detail);
		if (status == HU_OK)
			status = hu_verifier_add_issuer(c->verifier, APP_ID);
		CHECK_MSG(status == HU_OK, detail);
		ok = status == HU_OK && c->libjwt_key_len > 0;
	}
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(wrong_rsa);
	return ok ? 0 : -1;
}

static void free_configs(void)
{
	size_t i;

	for (i = 0; i < CONFIG_COUNT; i++) {
		EVP_PKEY_free(configs[i].key);
		EVP_PKEY_free(configs[i].wrong_key);
		free(configs[i].public_pem);
		hu_verifier_free(configs[i].verifier);
		buffer_free(&configs[i].reference);
	}
}

static struct config *pick_config(void)
{
	unsigned total = 0, roll;
	size_t i;

	for (i = 0; i < CONFIG_COUNT; i++)
		total += configs[i].weight;
	roll = (unsigned)rng_below(total);
	for (i = 0; i < CONFIG_COUNT; i++) {
		if (roll < configs[i].weight)
			return &configs[i];
		roll -= configs[i].weight;
	}
	return &configs[0];
}

/* ---------------------------------------------------------------------
 * Headers and claims
 * ------------------------------------------------------------------- */

static json_t *base_header(const struct config *c)
{
	json_t *header = json_object();

	json_object_set_new(header, "alg", json_string(c->alg));
	if (rng_percent(80))
		json_object_set_new(header, "typ", json_string("JWT"));
	return header;
}

static json_t *base_claims(void)
{
	static const char *const rooms[] = {
		"lobby", "standup", "Team-Room", "café-東京", "*", "a%20b", "r",
	};
	static const char *const names[] = { "Ada", "Zoë Ñandú", "Bob", "" };
	json_t *claims = json_object(), *context = json_object();
	json_t *user = json_object();
	json_int_t iat = NOW - (json_int_t)rng_below(600);

	json_object_set_new(claims, "iss", json_string(APP_ID));
	if (rng_percent(80))
		json_object_set_new(claims, "aud", json_string("jitsi"));
	else
		json_object_set_new(claims, "aud",
		    json_pack("[ss]", "other", "jitsi"));
	if (rng_percent(80))
		json_object_set_new(claims, "sub", json_string("meet.example.com"));
	json_object_set_new(claims, "room", json_string(PICK(rooms)));
	json_object_set_new(claims, "iat", json_integer(iat));
	if (rng_percent(70))
		json_object_set_new(claims, "nbf", json_integer(iat - 10));
	json_object_set_new(claims, "exp",
	    json_integer(NOW + 60 + (json_int_t)rng_below(86400)));

	json_object_set_new(user, "name", json_string(PICK(names)));
	switch (rng_below(5)) {
	case 0:
		json_object_set_new(user, "moderator", json_true());
		break;
	case 1:
		json_object_set_new(user, "moderator", json_string("true"));
		break;
	case 2:
		json_object_set_new(user, "affiliation", json_string("owner"));
		break;
	case 3:
		json_object_set_new(claims, "moderator", json_true());
		break;
	default:
		json_object_set_new(user, "moderator", json_false());
		break;
	}
	json_object_set_new(context, "user", user);
	if (rng_percent(30))
		json_object_set_new(context, "group", json_string("team-a"));
	json_object_set_new(claims, "context", context);
	return claims;
}

/* One random value of any JSON type. */
static json_t *odd_value(void)
{
	switch (rng_below(9)) {
	case 0: return json_null();
	case 1: return json_true();
	case 2: return json_integer(5);
	case 3: return json_real(1.5);
	case 4: return json_string("");
	case 5: return json_string("x");
	case 6: return json_array();
	case 7: return json_object();
	default: return json_string("JWT ");
	}
}

static void edit_header(json_t *header)
{
	static const char *const algs[] = {
		"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256",
		"ES384", "ES512", "none", "None", "hs256", "Hs256", "PS256",
		"HS256 ", "", "EdDSA",
	};
	static const char *const rejected_names[] = {
		"crit", "b64", "jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256",
	};
	static const char *const typs[] = { "jwt", "JWS", "JWT ", "at+jwt", "" };
	char long_kid[301];

	switch (rng_below(8)) {
	case 0:
	case 1:
		json_object_set_new(header, "alg", json_string(PICK(algs)));
		break;
	case 2:
		if (rng_percent(50))
			json_object_del(header, "alg");
		else
			json_object_set_new(header, "alg", odd_value());
		break;
	case 3:
		json_object_set_new(header, PICK(rejected_names),
		    rng_percent(50) ? json_pack("[s]", "exp") : json_string("x"));
		break;
	case 4:
		json_object_set_new(header, "typ", rng_percent(70) ?
		    json_string(PICK(typs)) : odd_value());
		break;
	case 5:
		memset(long_kid, 'k', sizeof long_kid - 1);
		long_kid[sizeof long_kid - 1] = '\0';
		json_object_set_new(header, "kid", rng_percent(60) ?
		    json_string("key-1") : rng_percent(50) ? json_string(long_kid) :
		    odd_value());
		break;
	case 6:
		json_object_set_new(header, rng_percent(50) ? "cty" : "extra",
		    odd_value());
		break;
	default:
		json_object_del(header, "typ");
		break;
	}
}

static void edit_claims(json_t *claims)
{
	static const char *const time_names[] = { "exp", "nbf", "iat" };
	static const char *const rooms[] = {
		"a@b", "a/b", "", "\x01room", "room\x7f", "*", "ROOM", "%41",
	};
	const char *name = PICK(time_names);
	json_t *context = json_object_get(claims, "context");
	json_t *user = json_object_get(context, "user");
	char long_room[1030];

	switch (rng_below(12)) {
	case 0: {
		/* Times around and past each boundary. */
		static const json_int_t offsets[] = {
			-3600, -31, -30, -29, 0, 29, 30, 31, 3600, 604800 - 31,
			604800, 604801, 9 * 86400,
		};

		json_object_set_new(claims, name,
		    json_integer(NOW + PICK(offsets)));
		break;
	}
	case 1:
		switch (rng_below(6)) {
		case 0: json_object_set_new(claims, name, json_real(NOW + 100.5)); break;
		case 1: json_object_set_new(claims, name, json_integer((json_int_t)NOW * 1000)); break;
		case 2: json_object_set_new(claims, name, json_integer(-1)); break;
		case 3: json_object_set_new(claims, name, json_real(1e300)); break;
		case 4: json_object_set_new(claims, name, json_integer(INT64_MAX)); break;
		default: json_object_set_new(claims, name, odd_value()); break;
		}
		break;
	case 2:
		json_object_del(claims, name);
		break;
	case 3:
		if (rng_percent(40))
			json_object_del(claims, "iss");
		else
			json_object_set_new(claims, "iss", rng_percent(50) ?
			    json_string("other-app") : odd_value());
		break;
	case 4:
		switch (rng_below(4)) {
		case 0: json_object_del(claims, "aud"); break;
		case 1: json_object_set_new(claims, "aud", json_string("other")); break;
		case 2: json_object_set_new(claims, "aud", json_pack("[sis]", "x", 1, "jitsi")); break;
		default: json_object_set_new(claims, "aud", odd_value()); break;
		}
		break;
	case 5:
		json_object_set_new(claims, "sub", odd_value());
		break;
	case 6:
		if (rng_percent(70)) {
			json_object_set_new(claims, "room", json_string(PICK(rooms)));
		} else if (rng_percent(50)) {
			memset(long_room, 'r', sizeof long_room - 1);
			long_room[1022 + rng_below(3)] = '\0'; /* 1022 to 1024 bytes */
			json_object_set_new(claims, "room", json_string(long_room));
		} else {
			json_object_set_new(claims, "room", odd_value());
		}
		break;
	case 7:
		json_object_del(claims, "room");
		break;
	case 8:
		if (rng_percent(50))
			json_object_set_new(claims, "context", odd_value());
		else if (json_is_object(context))
			json_object_set_new(context, "user", odd_value());
		break;
	case 9:
		if (json_is_object(user))
			json_object_set_new(user, rng_percent(50) ? "name" : "affiliation",
			    rng_percent(50) ? json_string("moderator") : odd_value());
		break;
	case 10:
		if (json_is_object(user))
			json_object_set_new(user, "moderator", odd_value());
		else
			json_object_set_new(claims, "moderator", odd_value());
		break;
	default:
		json_object_set_new(claims, "extra", odd_value());
		break;
	}
}

/* Edits JSON text as text: what a JSON library would not write. */
static void edit_json_text(struct buffer *json, int is_header)
{
	static const char *const replacements[] = {
		"[]", "\"x\"", "1", "null", "{}", "{\"alg\":\"HS256\"", "",
	};
	const char *text;
	size_t depth, i;

	switch (rng_below(9)) {
	case 0:
		/* A duplicate member, read by jansson without
		 * JSON_REJECT_DUPLICATES as the last one. */
		if (json->len > 1 && json->data[0] == '{')
			buffer_insert(json, 1, is_header ? "\"alg\":\"none\"," :
			    "\"exp\":1,", is_header ? 13 : 8);
		break;
	case 1:
		buffer_puts(json, rng_percent(50) ? " x" : "}");
		break;
	case 2:
		/* A NUL byte: the end of the text for a C-string parser. */
		buffer_append(json, "\0{}", 3);
		break;
	case 3:
		text = PICK(replacements);
		buffer_set(json, text, strlen(text));
		break;
	case 4:
		depth = 10 + rng_below(20);
		if (json->len > 1 && json->data[json->len - 1] == '}') {
			json->len--;
			buffer_puts(json, ",\"deep\":");
			for (i = 0; i < depth; i++)
				buffer_puts(json, "[");
			for (i = 0; i < depth; i++)
				buffer_puts(json, "]");
			buffer_puts(json, "}");
		}
		break;
	case 5:
		if (json->len > 1 && json->data[json->len - 1] == '}') {
			json->len--;
			buffer_puts(json, ",\"many\":[");
			for (i = 0; i < 600; i++)
				buffer_puts(json, i ? ",0" : "0");
			buffer_puts(json, "]}");
		}
		break;
	case 6:
		if (json->len > 1 && json->data[json->len - 1] == '}') {
			static const char *const strings[] = {
				"\"\\ud800\"", "\"\xff\"", "\"\\u0000\"", "\"\xc3\"",
				"\"\xed\xa0\x80\"", "1e400", "-0", "0x10", "NaN",
			};

			json->len--;
			buffer_puts(json, ",\"odd\":");
			buffer_puts(json, PICK(strings));
			buffer_puts(json, "}");
		}
		break;
	case 7:
		text = rng_percent(50) ? " \n" : "\xef\xbb\xbf";
		buffer_insert(json, 0, text, strlen(text));
		break;
	default:
		if (json->len > 0)
			json->data[rng_below(json->len)] ^=
			    (char)(1u << rng_below(8));
		break;
	}
}

static void dump_json(const json_t *value, struct buffer *out)
{
	size_t flags = rng_percent(90) ? JSON_COMPACT : JSON_INDENT(1);
	char *text;

	if (rng_percent(30))
		flags |= JSON_SORT_KEYS;
	text = json_dumps(value, flags | JSON_ENCODE_ANY);
	buffer_set(out, text, strlen(text));
	free(text);
}

/* ---------------------------------------------------------------------
 * Token mutations on the compact form
 * ------------------------------------------------------------------- */

static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Finds segment index (0 to 2) of token; returns 0 when it is missing. */
static int find_segment(const struct buffer *token, int index, size_t *start,
    size_t *len)
{
	size_t i, begin = 0;
	int seen = 0;

	for (i = 0; i <= token->len; i++) {
		if (i == token->len || token->data[i] == '.') {
			if (seen == index) {
				*start = begin;
				*len = i - begin;
				return 1;
			}
			seen++;
			begin = i + 1;
		}
	}
	return 0;
}

static void mutate_token(struct buffer *token, const struct config *c)
{
	static const char *const inserts[] = {
		" ", "\n", ".", "=", "==", "+", "/", "*", "\t", "%3D", "\x80",
	};
	size_t start = 0, len = 0, at;
	int segment = (int)rng_below(3);
	struct buffer copy = { 0 };
	size_t s2 = 0, l2 = 0;
	const char *text;

	if (token->len == 0)
		return;
	switch (rng_below(14)) {
	case 0:
	case 1:
		/* One flipped bit anywhere. */
		token->data[rng_below(token->len)] ^= (char)(1u << rng_below(8));
		break;
	case 2:
		/* One character replaced by another of the alphabet. */
		token->data[rng_below(token->len)] = url_alphabet[rng_below(64)];
		break;
	case 3:
		/* The standard alphabet in one segment. */
		if (find_segment(token, segment, &start, &len))
			for (at = start; at < start + len; at++) {
				if (token->data[at] == '-')
					token->data[at] = '+';
				else if (token->data[at] == '_')
					token->data[at] = '/';
			}
		break;
	case 4:
		/* Padding after a segment. */
		text = rng_percent(50) ? "=" : "==";
		if (find_segment(token, segment, &start, &len))
			buffer_insert(token, start + len, text, strlen(text));
		break;
	case 5:
		/* The last character of a segment moved by one: changes the
		 * value or sets unused bits. */
		if (find_segment(token, segment, &start, &len) && len > 0) {
			char *last = &token->data[start + len - 1];
			const char *p = strchr(url_alphabet, *last);

			if (p != NULL && *last != '\0')
				*last = url_alphabet[(size_t)(p - url_alphabet + 1) % 64];
		}
		break;
	case 6:
		text = PICK(inserts);
		buffer_insert(token, rng_below(token->len + 1), text, strlen(text));
		break;
	case 7:
		buffer_erase(token, rng_below(token->len), 1);
		break;
	case 8:
		/* Truncate the signature by 1 to 4 characters, or drop it. */
		if (find_segment(token, 2, &start, &len)) {
			size_t cut = rng_percent(80) ? 1 + rng_below(4) : len;

			buffer_erase(token, start + len - (cut < len ? cut : len),
			    cut < len ? cut : len);
		}
		break;
	case 9:
		/* Swap two segments. */
		if (find_segment(token, segment, &start, &len) &&
		    find_segment(token, (segment + 1) % 3, &s2, &l2)) {
			struct buffer a = { 0 }, b = { 0 };
			size_t first = start < s2 ? start : s2;

			buffer_append(&a, token->data + start, len);
			buffer_append(&b, token->data + s2, l2);
			buffer_append(&copy, token->data, first);
			buffer_append(&copy, start < s2 ? b.data : a.data,
			    start < s2 ? b.len : a.len);
			buffer_append(&copy, ".", 1);
			buffer_append(&copy, start < s2 ? a.data : b.data,
			    start < s2 ? a.len : b.len);
			at = (start > s2 ? start + len : s2 + l2);
			buffer_append(&copy, token->data + at, token->len - at);
			buffer_set(token, copy.data, copy.len);
			buffer_free(&a);
			buffer_free(&b);
		}
		break;
	case 10:
		/* A segment from the reference token of the same key. */
		if (c->reference.len > 0 &&
		    find_segment(token, segment, &start, &len) &&
		    find_segment(&c->reference, segment, &s2, &l2)) {
			buffer_append(&copy, token->data, start);
			buffer_append(&copy, c->reference.data + s2, l2);
			buffer_append(&copy, token->data + start + len,
			    token->len - start - len);
			buffer_set(token, copy.data, copy.len);
		}
		break;
	case 11:
		buffer_puts(token, rng_percent(50) ? ".e30" : ".");
		break;
	case 12:
		/* An empty segment. */
		if (find_segment(token, segment, &start, &len))
			buffer_erase(token, start, len);
		break;
	default:
		/* Repeat the payload until the token passes the size limit. */
		if (find_segment(token, 1, &start, &len) && len > 0) {
			buffer_append(&copy, token->data + start, len);
			while (token->len <= 8192 + 16)
				buffer_insert(token, start, copy.data, copy.len);
		}
		break;
	}
	buffer_free(&copy);
}

/* ---------------------------------------------------------------------
 * One case
 * ------------------------------------------------------------------- */

static const char *corpus_dir; /* HU_DIFF_CORPUS_DIR, or NULL */
static long case_index;

/* Writes one fuzzing seed to corpus_dir/target/differential-N. */
static void save_corpus_file(const char *target, const char *data, size_t len)
{
	char path[4096];
	FILE *file;

	if (corpus_dir == NULL || case_index >= MAX_CORPUS_CASES)
		return;
	snprintf(path, sizeof path, "%s/%s/differential-%ld", corpus_dir, target,
	    case_index);
	file = fopen(path, "wb");
	if (file == NULL) {
		fprintf(stderr, "test_differential: cannot write %s; "
		    "HU_DIFF_CORPUS_DIR needs fuzz_verify/ and fuzz_claims/\n", path);
		corpus_dir = NULL;
		return;
	}
	if (fwrite(data, 1, len, file) != len)
		fprintf(stderr, "test_differential: cannot write %s\n", path);
	fclose(file);
}

/* Signs "header.payload" (already in token) and appends ".signature". */
static void append_signature(struct buffer *token, const struct config *c,
    const char *alg, int wrong)
{
	unsigned char sig[1024];
	size_t sig_len = sizeof sig;

	if (sign_message(c, alg, wrong, token->data, token->len, sig, &sig_len) != 0 &&
	    sign_message(c, c->alg, wrong, token->data, token->len, sig, &sig_len) != 0) {
		fprintf(stderr, "test_differential: cannot sign for %s\n", c->alg);
		exit(2);
	}
	buffer_append(token, ".", 1);
	base64_append(token, sig, sig_len, pick_encoding(4));
}

/* Builds a valid token for c without any mutation. */
static void make_reference(struct config *c)
{
	json_t *header = base_header(c), *claims = base_claims();
	struct buffer json = { 0 };

	c->reference.len = 0;
	dump_json(header, &json);
	base64_append(&c->reference, (unsigned char *)json.data, json.len,
	    ENCODING_CANONICAL);
	buffer_append(&c->reference, ".", 1);
	dump_json(claims, &json);
	base64_append(&c->reference, (unsigned char *)json.data, json.len,
	    ENCODING_CANONICAL);
	append_signature(&c->reference, c, c->alg, 0);
	json_decref(header);
	json_decref(claims);
	buffer_free(&json);
}

static void make_case(struct config *c, struct buffer *token)
{
	json_t *header = base_header(c), *claims = base_claims();
	struct buffer header_text = { 0 }, claims_text = { 0 };
	json_t *alg_value;
	char signing_alg[16];
	unsigned roll;
	int edits, i;

	if (rng_percent(25))
		edit_header(header);
	if (rng_percent(40))
		for (edits = 1 + (int)rng_below(2), i = 0; i < edits; i++)
			edit_claims(claims);

	alg_value = json_object_get(header, "alg");
	snprintf(signing_alg, sizeof signing_alg, "%s",
	    json_is_string(alg_value) ? json_string_value(alg_value) : c->alg);
	if (!is_known_alg(signing_alg))
		snprintf(signing_alg, sizeof signing_alg, "%s", c->alg);

	dump_json(header, &header_text);
	dump_json(claims, &claims_text);
	if (rng_percent(5))
		edit_json_text(&header_text, 1);
	if (rng_percent(8))
		edit_json_text(&claims_text, 0);

	token->len = 0;
	base64_append(token, (unsigned char *)header_text.data, header_text.len,
	    pick_encoding(6));
	buffer_append(token, ".", 1);
	base64_append(token, (unsigned char *)claims_text.data, claims_text.len,
	    pick_encoding(6));

	roll = (unsigned)rng_below(100);
	if (roll < 72) {
		append_signature(token, c, c->alg, 0);
	} else if (roll < 82) {
		/* The header's alg over this key's material. */
		append_signature(token, c, signing_alg, 0);
	} else if (roll < 91) {
		append_signature(token, c, rng_percent(50) ? c->alg : signing_alg, 1);
	} else {
		/* A signature made for another token. */
		size_t start, len;

		if (find_segment(&c->reference, 2, &start, &len)) {
			buffer_append(token, ".", 1);
			buffer_append(token, c->reference.data + start, len);
		} else {
			append_signature(token, c, c->alg, 0);
		}
	}

	if (rng_percent(30))
		for (edits = 1 + (int)rng_below(3), i = 0; i < edits; i++)
			mutate_token(token, c);

	if (corpus_dir != NULL && case_index < MAX_CORPUS_CASES) {
		save_corpus_file("fuzz_verify", token->data, token->len);
		buffer_append(&header_text, "", 1); /* the NUL separator */
		buffer_append(&header_text, claims_text.data, claims_text.len);
		save_corpus_file("fuzz_claims", header_text.data, header_text.len);
	}

	json_decref(header);
	json_decref(claims);
	buffer_free(&header_text);
	buffer_free(&claims_text);
}

/* ---------------------------------------------------------------------
 * Comparing the two verdicts
 * ------------------------------------------------------------------- */

enum rejection_class {
	CLASS_NONE,
	CLASS_CLAIM_CHECKS,
	CLASS_STRICT_ENCODING,
	CLASS_HEADER_POLICY,
	CLASS_COUNT
};

static const char *const class_names[CLASS_COUNT] = {
	"unclassified", "claim checks", "strict encoding", "header policy",
};

/* The documented reasons for rejecting a token that libjwt 1.10.2 (which
 * checks no claim, decodes leniently and follows the header's alg)
 * accepts. */
static enum rejection_class class_of(hu_status status)
{
	switch (status) {
	case HU_ERR_INVALID_CLAIM:
	case HU_ERR_TOKEN_EXPIRED:
	case HU_ERR_TOKEN_NOT_YET_VALID:
	case HU_ERR_TOKEN_ISSUED_IN_FUTURE:
	case HU_ERR_TOKEN_LIFETIME_TOO_LONG:
	case HU_ERR_ISSUER_NOT_ACCEPTED:
	case HU_ERR_AUDIENCE_NOT_ACCEPTED:
	case HU_ERR_INVALID_ROOM_CLAIM:
		return CLASS_CLAIM_CHECKS;
	case HU_ERR_INVALID_ENCODING:
	case HU_ERR_TOKEN_TOO_LARGE:
	case HU_ERR_INVALID_JSON:
		return CLASS_STRICT_ENCODING;
	case HU_ERR_UNSUPPORTED_ALGORITHM:
	case HU_ERR_UNSUPPORTED_HEADER:
	case HU_ERR_UNKNOWN_KEY:
		return CLASS_HEADER_POLICY;
	default:
		return CLASS_NONE;
	}
}

/* Returns why libjwt 1.10.2 must not see token, or NULL when it may. */
static const char *libjwt_hazard(const struct buffer *token)
{
	size_t i, dots = 0, segment_len = 0;

	if (token->len > LIBJWT_MAX_TOKEN)
		return "longer than 8192 bytes";
	if (memchr(token->data, '\0', token->len) != NULL)
		return "contains a NUL byte";
	for (i = 0; i < token->len; i++) {
		if (token->data[i] == '.') {
			if (segment_len == 0)
				return "has an empty segment";
			dots++;
			segment_len = 0;
		} else {
			segment_len++;
		}
	}
	if (dots != 2)
		return "does not have 3 segments";
	if (segment_len == 0)
		return "has an empty segment";
	return NULL;
}

/* The moderator rule of token.h, applied to libjwt's claims. */
static int moderator_from(const json_t *grants)
{
	const json_t *user = json_object_get(json_object_get(grants, "context"), "user");
	const json_t *affiliation = json_object_get(user, "affiliation");
	const json_t *flag = json_object_get(user, "moderator");

	if (json_is_string(affiliation) &&
	    (strcmp(json_string_value(affiliation), "owner") == 0 ||
	     strcmp(json_string_value(affiliation), "moderator") == 0))
		return 1;
	if (flag == NULL)
		flag = json_object_get(grants, "moderator");
	return json_is_true(flag) ||
	    (json_is_string(flag) && strcmp(json_string_value(flag), "true") == 0);
}

static json_t *parse_owned(char *text)
{
	json_t *value = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;

	free(text);
	return value;
}

/* Compares what both accepted. Returns NULL when alg and claims agree, or
 * what differs. */
static const char *compare_accepted(jwt_t *jwt, const hu_claims *claims,
    const struct config *c)
{
	static const char *const names[] = { "iss", "sub", "room" };
	json_t *theirs = parse_owned(jwt_get_grants_json(jwt, NULL));
	const char *ours_text = hu_claims_json(claims);
	json_t *ours = ours_text ? json_loads(ours_text, 0, NULL) : NULL;
	json_t *their_aud = parse_owned(jwt_get_grants_json(jwt, "aud"));
	const json_t *exp = json_object_get(theirs, "exp");
	const char *differs = NULL;
	size_t i;

	if (jwt_get_alg(jwt) != c->jwt_alg)
		differs = "alg";
	else if (theirs == NULL || ours == NULL || !json_equal(theirs, ours))
		differs = "claim set";
	else if (!json_equal(their_aud, json_object_get(ours, "aud")))
		differs = "aud";
	else if (!json_is_number(exp) || (json_is_integer(exp) ?
	        jwt_get_grant_int(jwt, "exp") != (long)hu_claims_exp(claims) ||
	        (double)jwt_get_grant_int(jwt, "exp") != hu_claims_exp(claims) :
	        json_real_value(exp) != hu_claims_exp(claims)))
		differs = "exp";
	else if (moderator_from(theirs) != hu_claims_is_moderator(claims))
		differs = "moderator";

	for (i = 0; differs == NULL && i < sizeof names / sizeof *names; i++) {
		const char *a = jwt_get_grant(jwt, names[i]);
		size_t b_len = 0;
		const char *b = hu_claims_get_string(claims, names[i], &b_len);

		if ((a == NULL) != (b == NULL) ||
		    (a != NULL && (strlen(a) != b_len || memcmp(a, b, b_len) != 0)))
			differs = names[i];
	}
	json_decref(theirs);
	json_decref(ours);
	json_decref(their_aud);
	return differs;
}

struct tally {
	long cases;
	long both_accept;
	long both_reject[HU_ERR_INTERNAL + 1];     /* by the verifier's reason */
	long libjwt_only[HU_ERR_INTERNAL + 1];     /* the verifier rejects */
	long not_given[HU_ERR_INTERNAL + 1];       /* hazard for libjwt */
	long class_count[CLASS_COUNT];
	long verifier_only;                        /* failure */
	long signature_disagreement;               /* failure */
	long claims_differ;                        /* failure */
	long unclassified;                         /* failure */
	long printed;
};

static void report_failure(struct tally *t, const char *what,
    const struct config *c, const struct buffer *token, hu_status status,
    const char *detail)
{
	if (t->printed++ >= MAX_PRINTED_FAILURES)
		return;
	fprintf(stderr, "case %ld (%s key): %s; verifier: %s (%s)\n  token: %.*s\n",
	    t->cases, c->alg, what, hu_strerror(status), detail,
	    (int)(token->len < 600 ? token->len : 600), token->data);
}

static void run_case(struct config *c, const struct buffer *token,
    struct tally *t)
{
	char detail[HU_DETAIL_SIZE] = "";
	hu_claims *claims = NULL;
	jwt_t *jwt = NULL;
	hu_status status;
	int theirs;
	const char *differs;

	status = hu_verify(c->verifier, token->data, token->len, NOW, &claims,
	    detail, sizeof detail);
	if (status > HU_ERR_INTERNAL)
		status = HU_ERR_INTERNAL;

	if (libjwt_hazard(token) != NULL) {
		t->not_given[status]++;
		/* Every hazard is also a rejection by the verifier. */
		CHECK_MSG(status != HU_OK, "accepted a token libjwt cannot be given");
		if (status == HU_OK)
			report_failure(t, "accepted a token libjwt cannot be given", c,
			    token, status, detail);
		hu_claims_free(claims);
		return;
	}

	theirs = jwt_decode(&jwt, token->data, c->libjwt_key, c->libjwt_key_len);
	if (status == HU_OK && theirs == 0) {
		t->both_accept++;
		differs = compare_accepted(jwt, claims, c);
		CHECK_MSG(differs == NULL, "both accept, but alg or claims differ");
		if (differs != NULL) {
			t->claims_differ++;
			report_failure(t, differs, c, token, status, "both accept");
		}
	} else if (status == HU_OK) {
		t->verifier_only++;
		CHECK_MSG(0, "the verifier accepts a token that libjwt rejects");
		report_failure(t, "libjwt rejects it", c, token, status, detail);
	} else if (theirs != 0) {
		t->both_reject[status]++;
	} else {
		enum rejection_class class = class_of(status);

		t->libjwt_only[status]++;
		t->class_count[class]++;
		if (status == HU_ERR_SIGNATURE_MISMATCH) {
			t->signature_disagreement++;
			CHECK_MSG(0, "libjwt accepts a signature the verifier rejects");
			report_failure(t, "libjwt accepts this signature", c, token,
			    status, detail);
		} else if (class == CLASS_NONE) {
			t->unclassified++;
			CHECK_MSG(0, "rejected for a reason outside the documented classes");
			report_failure(t, "libjwt accepts it", c, token, status, detail);
		}
	}
	jwt_free(jwt);
	hu_claims_free(claims);
}

static void print_reason_rows(const long *counts)
{
	int s;

	for (s = 0; s <= HU_ERR_INTERNAL; s++)
		if (counts[s] > 0)
			printf("    %-32s %9ld\n", hu_strerror((hu_status)s), counts[s]);
}

static void print_table(const struct tally *t, double seconds)
{
	long both_reject = 0, not_given = 0, libjwt_only = 0;
	int s, k;

	for (s = 0; s <= HU_ERR_INTERNAL; s++) {
		both_reject += t->both_reject[s];
		not_given += t->not_given[s];
		libjwt_only += t->libjwt_only[s];
	}
	printf("test_differential: %ld cases in %.1f s\n", t->cases, seconds);
	printf("  %-34s %9ld\n", "both accept, same alg and claims",
	    t->both_accept - t->claims_differ);
	printf("  %-34s %9ld\n", "both reject", both_reject);
	print_reason_rows(t->both_reject);
	printf("  %-34s %9ld\n", "libjwt accepts, verifier rejects", libjwt_only);
	for (k = CLASS_CLAIM_CHECKS; k < CLASS_COUNT; k++) {
		printf("   class %-26s %9ld\n", class_names[k], t->class_count[k]);
		for (s = 0; s <= HU_ERR_INTERNAL; s++)
			if (t->libjwt_only[s] > 0 && class_of((hu_status)s) == (enum rejection_class)k)
				printf("    %-32s %9ld\n", hu_strerror((hu_status)s),
				    t->libjwt_only[s]);
	}
	printf("  %-34s %9ld\n", "not given to libjwt (hazard)", not_given);
	print_reason_rows(t->not_given);
	printf("  failures: verifier-only accept %ld, signature disagreement %ld, "
	    "claims differ %ld, unclassified %ld\n", t->verifier_only,
	    t->signature_disagreement, t->claims_differ, t->unclassified);
}

static double monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double env_number(const char *name, double fallback)
{
	const char *text = getenv(name);
	char *end;
	double value;

	if (text == NULL || text[0] == '\0')
		return fallback;
	errno = 0;
	value = strtod(text, &end);
	if (errno != 0 || *end != '\0' || value < 0) {
		fprintf(stderr, "test_differential: %s=\"%s\" is not a number; "
		    "using %.0f\n", name, text, fallback);
		return fallback;
	}
	return value;
}

int main(void)
{
	const char *seed_text = getenv("HU_DIFF_SEED");
	long max_cases = (long)env_number("HU_DIFF_CASES", DEFAULT_CASES);
	double max_seconds = env_number("HU_DIFF_SECONDS", DEFAULT_SECONDS);
	struct tally *t = calloc(1, sizeof *t);
	struct buffer token = { 0 };
	uint64_t seed;
	double start, elapsed = 0;
	int k;

	if (t == NULL)
		return 2;
	corpus_dir = getenv("HU_DIFF_CORPUS_DIR");
	if (corpus_dir != NULL && corpus_dir[0] == '\0')
		corpus_dir = NULL;
	seed = seed_text != NULL && seed_text[0] != '\0' ?
	    strtoull(seed_text, NULL, 0) :
	    (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
	rng_state = seed;
	printf("test_differential: seed %" PRIu64 " (HU_DIFF_SEED=%" PRIu64
	    " repeats this run), at most %ld cases or %.0f s\n", seed, seed,
	    max_cases, max_seconds);
	fflush(stdout);

	if (setup_configs() != 0) {
		CHECK_MSG(0, "key setup failed");
		free_configs();
		free(t);
		return hu_test_finish("test_differential");
	}

	start = monotonic_seconds();
	while (t->cases < max_cases) {
		struct config *c = pick_config();

		if (t->cases % 256 == 0) {
			elapsed = monotonic_seconds() - start;
			if (elapsed >= max_seconds)
				break;
		}
		if (c->reference.len == 0 || rng_below(REFERENCE_REFRESH) == 0)
			make_reference(c);
		case_index = t->cases;
		make_case(c, &token);
		run_case(c, &token, t);
		t->cases++;
	}
	elapsed = monotonic_seconds() - start;
	print_table(t, elapsed);

	/* A generator that stopped producing one of the outcomes would make
	 * the check above vacuous. */
	if (t->cases >= 20000) {
		CHECK_MSG(t->both_accept > 0, "no case was accepted by both");
		for (k = CLASS_CLAIM_CHECKS; k < CLASS_COUNT; k++)
			CHECK_MSG(t->class_count[k] > 0, class_names[k]);
	}
	CHECK_MSG(t->cases > 0, "no case ran");

	buffer_free(&token);
	free_configs();
	free(t);
	return hu_test_finish("test_differential");
}
