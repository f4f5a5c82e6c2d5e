/*
 * Internal declarations shared by the library's sources, its tests and the
 * Lua module. Not installed: the public interface is huddleup/token.h.
 */
#ifndef HU_INTERNAL_H
#define HU_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "huddleup/token.h"

/* JWS algorithms this library implements. HU_ALG_UNKNOWN covers "none" too. */
typedef enum hu_alg {
	HU_ALG_UNKNOWN = 0,
	HU_ALG_HS256,
	HU_ALG_HS384,
	HU_ALG_HS512,
	HU_ALG_RS256,
	HU_ALG_RS384,
	HU_ALG_RS512,
	HU_ALG_ES256,
	HU_ALG_ES384
} hu_alg;

#define HU_ALG_COUNT 9

/* Returns the algorithm named exactly (case-sensitive) by name[0..len). */
hu_alg hu_alg_from_name(const char *name, size_t len);
const char *hu_alg_name(hu_alg alg);
int hu_alg_is_hmac(hu_alg alg);

/* Bounds on what a token may contain, checked while the header and the
 * payload are scanned (json_scan.h). */
#define HU_MAX_HEADER_BYTES 1024   /* decoded header */
#define HU_MAX_SIGNATURE_BYTES 1024 /* decoded signature (RSA up to 8192 bits) */
#define HU_MAX_KID_BYTES (HU_KID_SIZE - 1)
#define HU_MAX_JSON_DEPTH 16       /* nested objects and arrays */
#define HU_MAX_JSON_VALUES 512     /* values of all kinds in one document */

/* One verification key, bound to exactly one algorithm when it is loaded. */
typedef struct hu_key hu_key;

/*
 * Creates an HMAC key with its inner and outer hash states prepared, so a
 * verification hashes only the token. Returns NULL when out of memory.
 */
hu_key *hu_key_new_hmac(hu_alg alg, const void *secret, size_t len);

/*
 * Creates a public key for alg from pkey after checking it against the key
 * policy (RSA of at least 2048 bits with e = 65537, EC on alg's curve, and
 * OpenSSL's public-key validation). Takes ownership of pkey, also on failure.
 * On failure returns NULL, sets *status and writes the reason to detail.
 */
hu_key *hu_key_new_public(hu_alg alg, EVP_PKEY *pkey, hu_status *status,
    char *detail, size_t detail_size);

/* Creates a public key from PEM text through hu_key_new_public(). Text that
 * contains a private key is rejected. */
hu_key *hu_key_new_public_pem(hu_alg alg, const char *pem, size_t len,
    hu_status *status, char *detail, size_t detail_size);

/*
 * Creates a public key from one parsed JWK object (kty RSA or EC) through
 * hu_key_new_public(), and copies its kid into kid_out (HU_KID_SIZE bytes).
 * Defined in jwks.c.
 */
hu_key *hu_key_new_jwk(const json_t *jwk, char *kid_out, hu_status *status,
    char *detail, size_t detail_size);

void hu_key_free(hu_key *key);
hu_alg hu_key_alg(const hu_key *key);

/* Returns 1 when a and b are public keys with the same alg and the same key
 * material, else 0 (always 0 for HMAC keys). */
int hu_key_equal(const hu_key *a, const hu_key *b);

/*
 * Checks sig (the raw JWS signature bytes) over msg with key. Returns HU_OK,
 * HU_ERR_SIGNATURE_MISMATCH, or HU_ERR_NO_MEMORY/HU_ERR_INTERNAL when OpenSSL
 * fails for another reason (the OpenSSL error queue is cleared either way).
 */
hu_status hu_key_verify(const hu_key *key, const unsigned char *msg,
    size_t msg_len, const unsigned char *sig, size_t sig_len);

/*
 * Decodes canonical unpadded base64url src[0..len) into dst, which must hold
 * hu_b64url_decoded_max(len) bytes. Rejects an empty input, any byte outside
 * the URL-safe alphabet, a length of 1 mod 4 and non-zero unused bits.
 * Returns the decoded length, or -1.
 */
long hu_b64url_decode(const char *src, size_t len, unsigned char *dst);
size_t hu_b64url_decoded_max(size_t len);

/* Writes the unpadded base64url form of src into dst (4*ceil(len/3) + 1
 * bytes) with a terminating NUL; returns the length written. */
size_t hu_b64url_encode(const unsigned char *src, size_t len, char *dst);

/*
 * Scans JSON text for its nesting depth and value count without building
 * anything, so a hostile document costs one linear pass. Returns 0 when both
 * are within the HU_MAX_JSON_* bounds, -1 otherwise. Malformed text may pass:
 * jansson rejects it afterwards.
 */
int hu_json_within_bounds(const unsigned char *text, size_t len);

/* The verified claims. Owned by the caller of hu_verify(). */
struct hu_claims {
	json_t *root;
	char *json_text; /* made on first hu_claims_json() call */
	int moderator;
	double exp;
};

/* Returns the parsed payload. The claims keep ownership. */
const json_t *hu_claims_root(const hu_claims *claims);

struct hu_json_doc; /* json_scan.h */

/*
 * Checks the claim set, a payload object scanned by hu_json_scan(), against
 * the verifier's policy, computes the moderator flag and stores exp in
 * *exp_out. Returns HU_OK or the rejection, with detail filled.
 */
hu_status hu_check_claims(const hu_verifier *verifier,
    const struct hu_json_doc *payload, double now, int *moderator_out,
    double *exp_out, char *detail, size_t detail_size);

/*
 * Receives the scanned payload of a verified token, its moderator flag and
 * exp. Returns HU_OK, or a status (with detail) that hu_verify_visit()
 * returns. The payload and its nodes are valid only during the call.
 */
typedef hu_status (*hu_payload_visitor)(void *context,
    const struct hu_json_doc *payload, int moderator, double exp,
    char *detail, size_t detail_size);

/*
 * Verifies as hu_verify() does and, when every check passes, calls visit
 * (may be NULL) before returning, so a caller can build its own form of the
 * claims (the Lua module's table) without jansson. Allocates nothing for
 * tokens up to HU_DEFAULT_MAX_SIZE bytes. visit must return normally: a
 * longjmp out of it (a Lua error) would leak the decode buffer of a larger
 * token.
 */
hu_status hu_verify_visit(const hu_verifier *verifier, const char *token,
    size_t len, double now, hu_payload_visitor visit, void *context,
    char *detail, size_t detail_size);

/* Normalises a room name for comparison: percent-decoded where %XX is valid
 * and ASCII-lowercased. Writes at most len bytes to dst; returns the length. */
size_t hu_room_normalize(const char *src, size_t len, char *dst);

/* Writes printf-style text into detail when detail is not NULL. */
void hu_set_detail(char *detail, size_t detail_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Key table primitives for jwks.c, which adds a whole key set or nothing.
 * hu_verifier_reserve_keys() makes room for extra more keys, after which
 * hu_verifier_insert_key() cannot fail: it takes ownership of kid (from
 * malloc, NULL for the default key) and key without checking either.
 */
hu_status hu_verifier_reserve_keys(hu_verifier *verifier, size_t extra);
void hu_verifier_insert_key(hu_verifier *verifier, char *kid, hu_key *key);

/* Returns the key configured under kid (NULL: the default key), or NULL. */
const hu_key *hu_verifier_find_key(const hu_verifier *verifier, const char *kid);

/* Writes a kid into dst for a detail message: its first 40 bytes, each
 * '"' and each byte outside printable ASCII replaced with '?', then "..."
 * when the kid is longer, then a NUL. dst holds HU_KID_LABEL_SIZE bytes. */
#define HU_KID_LABEL_SIZE 44
void hu_kid_label(const char *kid, size_t len, char *dst);

/* Accessors used by the verifier's checks. */
size_t hu_verifier_issuer_count(const hu_verifier *verifier);
const char *hu_verifier_issuer(const hu_verifier *verifier, size_t i);
size_t hu_verifier_audience_count(const hu_verifier *verifier);
const char *hu_verifier_audience(const hu_verifier *verifier, size_t i);
double hu_verifier_leeway(const hu_verifier *verifier);
double hu_verifier_max_lifetime(const hu_verifier *verifier);
int hu_verifier_requires_room(const hu_verifier *verifier);

#endif /* HU_INTERNAL_H */
