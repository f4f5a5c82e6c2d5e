/*
 * huddleup/token.h - issue and verify the JWTs that admit HuddleUp users to
 * a self-hosted Jitsi Meet.
 *
 * The token format follows Jitsi's (lib-jitsi-meet doc/tokens.md): iss, aud,
 * sub, room, exp, nbf, context.user, context.group. Verification is this
 * library's own code on OpenSSL and jansson. Issuing uses libjwt.
 *
 * Ownership: every object returned through an out-pointer belongs to the
 * caller and is released with the matching *_free function, which accepts
 * NULL. Strings passed in are copied; the caller keeps ownership of them.
 *
 * Thread safety: once configured, one hu_verifier may be used by many
 * threads at once with hu_verify(), because verification never writes to
 * the verifier. The hu_verifier_add_*, hu_verifier_set_* and
 * hu_verifier_remove_key() calls must not run while another thread uses the
 * same verifier. hu_issue() and the
 * hu_issuer_* calls are safe on different issuers; one issuer must not be
 * reconfigured while another thread issues with it.
 */
#ifndef HUDDLEUP_TOKEN_H
#define HUDDLEUP_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define HU_WARN_UNUSED __attribute__((warn_unused_result))
#define HU_EXPORT __attribute__((visibility("default")))
#else
#define HU_WARN_UNUSED
#define HU_EXPORT
#endif

/*
 * Status codes. HU_OK is success. The codes from HU_ERR_INVALID_ENCODING to
 * HU_ERR_KEY_UNAVAILABLE reject a token; the rest report a problem with the
 * call or the configuration. hu_strerror() maps each to the kebab-case reason
 * used in Lua, in Prosody's log and in the CLI's JSON output.
 */
typedef enum hu_status {
	HU_OK = 0,
	HU_ERR_INVALID_ENCODING,        /* "invalid-encoding" */
	HU_ERR_TOKEN_TOO_LARGE,         /* "token-too-large" */
	HU_ERR_UNSUPPORTED_ALGORITHM,   /* "unsupported-algorithm" */
	HU_ERR_UNSUPPORTED_HEADER,      /* "unsupported-header" */
	HU_ERR_SIGNATURE_MISMATCH,      /* "signature-mismatch" */
	HU_ERR_INVALID_JSON,            /* "invalid-json" */
	HU_ERR_INVALID_CLAIM,           /* "invalid-claim" */
	HU_ERR_TOKEN_EXPIRED,           /* "token-expired" */
	HU_ERR_TOKEN_NOT_YET_VALID,     /* "token-not-yet-valid" */
	HU_ERR_TOKEN_ISSUED_IN_FUTURE,  /* "token-issued-in-future" */
	HU_ERR_TOKEN_LIFETIME_TOO_LONG, /* "token-lifetime-too-long" */
	HU_ERR_ISSUER_NOT_ACCEPTED,     /* "issuer-not-accepted" */
	HU_ERR_AUDIENCE_NOT_ACCEPTED,   /* "audience-not-accepted" */
	HU_ERR_INVALID_ROOM_CLAIM,      /* "invalid-room-claim" */
	HU_ERR_ROOM_MISMATCH,           /* "room-mismatch" */
	HU_ERR_TENANT_MISMATCH,         /* "tenant-mismatch" */
	HU_ERR_UNKNOWN_KEY,             /* "unknown-key" */
	HU_ERR_KEY_UNAVAILABLE,         /* "key-unavailable" */
	HU_ERR_CONFIGURATION,           /* "configuration-error" */
	HU_ERR_INVALID_ARGUMENT,        /* "invalid-argument" */
	HU_ERR_NO_MEMORY,               /* "out-of-memory" */
	HU_ERR_INTERNAL                 /* "internal-error" */
} hu_status;

/* Returns the static kebab-case reason for a status ("unknown-status" for a
 * value outside the enum). Never NULL. */
HU_EXPORT const char *hu_strerror(hu_status status);

/* Returns nonzero when status rejects a token (as opposed to HU_OK or an
 * error of the call or the configuration). */
HU_EXPORT int hu_status_is_rejection(hu_status status);

/* Returns the library version, "MAJOR.MINOR.PATCH". */
HU_EXPORT const char *hu_version(void);

/* Size of the detail buffers that the calls below fill. A detail is one
 * line of English that never contains the token, a secret or a key. */
#define HU_DETAIL_SIZE 160

/* Defaults of a new verifier. */
#define HU_DEFAULT_MAX_SIZE 8192        /* bytes, inclusive */
#define HU_DEFAULT_LEEWAY 30.0          /* seconds */
#define HU_DEFAULT_MAX_LIFETIME 604800.0 /* seconds (7 days) from now to exp */
#define HU_DEFAULT_AUDIENCE "jitsi"
#define HU_MIN_HMAC_SECRET 32           /* bytes */

/* Size of a buffer for any kid this library accepts: 1 to 256 bytes and a
 * NUL. */
#define HU_KID_SIZE 257

/* Largest JWK or JWK Set document accepted, in bytes. */
#define HU_MAX_JWKS_SIZE 262144

/* Size of the name hu_asap_key_name() writes: 64 hex digits, ".pem", NUL. */
#define HU_ASAP_KEY_NAME_SIZE 69

/* ------------------------------------------------------------------------
 * Verifying
 * ---------------------------------------------------------------------- */

typedef struct hu_verifier hu_verifier;
typedef struct hu_claims hu_claims;

/* Creates an empty verifier with the defaults above and no key. Returns NULL
 * when out of memory. Free it with hu_verifier_free(). */
HU_EXPORT hu_verifier *hu_verifier_new(void) HU_WARN_UNUSED;

/* Frees the verifier and every key it contains (secrets are wiped). NULL is a
 * no-op. Claims returned earlier stay valid: they do not point into it. */
HU_EXPORT void hu_verifier_free(hu_verifier *verifier);

/*
 * Adds an HMAC secret for alg ("HS256", "HS384" or "HS512"). kid NULL makes
 * it the default key, used by tokens without a "kid" header; otherwise only
 * tokens whose "kid" equals kid use it. The secret is copied. A secret
 * shorter than HU_MIN_HMAC_SECRET bytes, an unknown alg, or a second key
 * under the same kid returns HU_ERR_CONFIGURATION with a reason in detail
 * (detail may be NULL).
 */
HU_EXPORT hu_status hu_verifier_add_hmac_key(hu_verifier *verifier,
    const char *kid, const char *alg, const void *secret, size_t secret_len,
    char *detail, size_t detail_size) HU_WARN_UNUSED;

/*
 * Adds a PEM public key (SubjectPublicKeyInfo, "-----BEGIN PUBLIC KEY-----")
 * for alg ("RS256", "RS384", "RS512", "ES256" or "ES384"), under kid as for
 * hu_verifier_add_hmac_key(). The key must fit alg: RSA of at least 2048 bits
 * with public exponent 65537, or EC on the curve alg names (P-256 for ES256,
 * P-384 for ES384). Anything else returns HU_ERR_CONFIGURATION.
 */
HU_EXPORT hu_status hu_verifier_add_public_key_pem(hu_verifier *verifier,
    const char *kid, const char *alg, const char *pem, size_t pem_len,
    char *detail, size_t detail_size) HU_WARN_UNUSED;

/*
 * Adds one public key given as a JWK (RFC 7517) JSON object of len bytes:
 * kty "RSA" with n and e, or kty "EC" with crv "P-256" or "P-384", x and y.
 * The JWK's kid is required and becomes the key's kid. Its alg, when
 * present, must fit the key; without it an RSA key verifies RS256, a P-256
 * key ES256 and a P-384 key ES384. use, when present, must be "sig", and
 * key_ops must include "verify". The key policy of
 * hu_verifier_add_public_key_pem() applies. A JWK with private key members
 * (d, p, q, dp, dq, qi, oth) or a symmetric key (kty "oct") returns
 * HU_ERR_CONFIGURATION, so a key set never delivers a secret. When the same
 * key is already configured under the kid with the same alg, nothing changes
 * and HU_OK is returned. A different key under that kid returns
 * HU_ERR_CONFIGURATION, so rebinding a kid takes hu_verifier_remove_key()
 * first. Certificate members (x5c, x5t, x5u) are ignored: the key comes
 * from n and e, or x and y, alone. detail names the key by its kid.
 */
HU_EXPORT hu_status hu_verifier_add_jwk(hu_verifier *verifier,
    const char *json, size_t len, char *detail, size_t detail_size)
    HU_WARN_UNUSED;

/*
 * Adds every key of a JWK Set ({"keys": [...]}, len bytes, at most
 * HU_MAX_JWKS_SIZE) as hu_verifier_add_jwk() does, all or nothing. When one
 * key is invalid or two keys share a kid, no key is added, and detail names
 * the key by position and kid. *added (may be NULL) receives the number of
 * keys added, which leaves out keys that were already configured. An empty
 * set adds nothing and returns HU_OK.
 */
HU_EXPORT hu_status hu_verifier_add_jwks(hu_verifier *verifier,
    const char *json, size_t len, size_t *added, char *detail,
    size_t detail_size) HU_WARN_UNUSED;

/*
 * Removes and wipes the key under kid (NULL: the default key). Returns
 * HU_OK, or HU_ERR_UNKNOWN_KEY when no key is configured under kid. Tokens
 * that name kid are then rejected with HU_ERR_UNKNOWN_KEY, or with
 * HU_ERR_UNSUPPORTED_ALGORITHM when no key of their alg is left. Once the
 * last key with a kid is gone, the verifier ignores a token's kid again and
 * uses the default key.
 */
HU_EXPORT hu_status hu_verifier_remove_key(hu_verifier *verifier,
    const char *kid) HU_WARN_UNUSED;

/* Returns 1 when a key is configured under kid (NULL: the default key), and
 * 0 otherwise or for a NULL verifier. */
HU_EXPORT int hu_verifier_has_kid(const hu_verifier *verifier,
    const char *kid);

/*
 * Reads the "kid" header parameter of token (len bytes) and verifies
 * nothing: neither the signature nor alg nor the claims are checked, so the
 * kid only names the key to fetch before hu_verify() decides. Only the
 * header is decoded, with the strict rules of hu_verify(). On HU_OK kid_out
 * receives the kid and a NUL, or an empty string when the header has no kid.
 * A malformed token returns HU_ERR_TOKEN_TOO_LARGE (over 65536 bytes),
 * HU_ERR_INVALID_ENCODING, or HU_ERR_UNSUPPORTED_HEADER, which also covers
 * a kid that is not a string of 1 to 256 bytes without NUL. NULL pointers or
 * kid_size below HU_KID_SIZE return HU_ERR_INVALID_ARGUMENT.
 */
HU_EXPORT hu_status hu_peek_kid(const char *token, size_t len, char *kid_out,
    size_t kid_size) HU_WARN_UNUSED;

/*
 * Writes the file name under which Jitsi's ASAP layout (asap_key_server, a
 * key folder) stores the public key for kid: the lowercase hex SHA-256 of
 * the kid's bytes, then ".pem" and a NUL. Deriving the name this way keeps
 * the kid itself out of paths and URLs. A NULL or empty kid, or one longer
 * than 256 bytes, returns HU_ERR_INVALID_ARGUMENT.
 */
HU_EXPORT hu_status hu_asap_key_name(const char *kid,
    char out[HU_ASAP_KEY_NAME_SIZE]) HU_WARN_UNUSED;

/* Adds an accepted "iss" value. With none added, every token is rejected
 * with HU_ERR_ISSUER_NOT_ACCEPTED; "*" accepts any string issuer. */
HU_EXPORT hu_status hu_verifier_add_issuer(hu_verifier *verifier,
    const char *issuer) HU_WARN_UNUSED;

/* Adds an accepted "aud" value. With none added, HU_DEFAULT_AUDIENCE is the
 * only one accepted; "*" accepts any string audience. */
HU_EXPORT hu_status hu_verifier_add_audience(hu_verifier *verifier,
    const char *audience) HU_WARN_UNUSED;

/* Sets the clock leeway in seconds (0 to 3600) applied to exp, nbf and iat. */
HU_EXPORT hu_status hu_verifier_set_leeway(hu_verifier *verifier,
    double seconds) HU_WARN_UNUSED;

/* Sets how far ahead of now exp may be, in seconds (60 to 10 years). */
HU_EXPORT hu_status hu_verifier_set_max_lifetime(hu_verifier *verifier,
    double seconds) HU_WARN_UNUSED;

/* Sets the largest accepted token in bytes (256 to 65536). */
HU_EXPORT hu_status hu_verifier_set_max_size(hu_verifier *verifier,
    size_t bytes) HU_WARN_UNUSED;

/* Makes the "room" claim optional (Jitsi's asap_require_room_claim = false).
 * A present room claim is still checked. */
HU_EXPORT hu_status hu_verifier_set_require_room(hu_verifier *verifier,
    int required) HU_WARN_UNUSED;

/*
 * Verifies token (len bytes, no terminator needed; an embedded NUL is
 * rejected) at time now (seconds since the epoch). The steps run in this
 * order and the first failure is returned: size, encoding, header, signature,
 * claims. On HU_OK and when claims_out is not NULL, *claims_out receives the
 * verified claims, which the caller frees with hu_claims_free(). On any other
 * status *claims_out is set to NULL and detail (if not NULL) explains the
 * status in one line. A verifier without a key returns HU_ERR_CONFIGURATION.
 */
HU_EXPORT hu_status hu_verify(const hu_verifier *verifier, const char *token,
    size_t len, double now, hu_claims **claims_out, char *detail,
    size_t detail_size) HU_WARN_UNUSED;

/* Frees claims. NULL is a no-op. */
HU_EXPORT void hu_claims_free(hu_claims *claims);

/*
 * Returns 1 when the token grants moderator rights: context.user.affiliation
 * "owner" or "moderator"; else context.user.moderator; else the top-level
 * moderator claim; where true or the string "true" mean moderator and any
 * other value does not.
 */
HU_EXPORT int hu_claims_is_moderator(const hu_claims *claims);

/* Returns the claims as compact JSON text, owned by claims and valid until
 * hu_claims_free(). Returns NULL only when out of memory. */
HU_EXPORT const char *hu_claims_json(const hu_claims *claims);

/*
 * Returns a string claim by a dotted path ("room", "sub", "context.user.name"),
 * or NULL when it is missing or not a string. The result is owned by claims.
 * len_out (may be NULL) receives its length in bytes.
 */
HU_EXPORT const char *hu_claims_get_string(const hu_claims *claims,
    const char *path, size_t *len_out);

/* Returns the exp claim in seconds since the epoch. */
HU_EXPORT double hu_claims_exp(const hu_claims *claims);

/*
 * Checks that the room claim admits room (the MUC node, len bytes): equal
 * after both are normalised (lowercase, percent-decoded), or a claim of "*".
 * Returns HU_OK or HU_ERR_ROOM_MISMATCH.
 */
HU_EXPORT hu_status hu_claims_check_room(const hu_claims *claims,
    const char *room, size_t len) HU_WARN_UNUSED;

/* ------------------------------------------------------------------------
 * Issuing
 * ---------------------------------------------------------------------- */

/* One participant's token request. Unused fields are NULL or 0. */
typedef struct hu_token_request {
	const char *room;      /* required: the MUC node, or "*" for any room */
	const char *sub;       /* tenant or domain; NULL uses the issuer's */
	const char *name;      /* context.user.name */
	const char *email;     /* context.user.email */
	const char *id;        /* context.user.id */
	const char *avatar;    /* context.user.avatar (URL) */
	const char *group;     /* context.group */
	int moderator;         /* nonzero: moderator (owner) token */
	long ttl;              /* lifetime in seconds; 0 uses the default 3600 */
} hu_token_request;

typedef struct hu_issuer hu_issuer;

/*
 * Creates an HMAC issuer. alg is "HS256", "HS384" or "HS512" (NULL means
 * HS256), app_id becomes "iss", and the secret (at least HU_MIN_HMAC_SECRET
 * bytes) is copied. Returns HU_ERR_CONFIGURATION with a reason in detail on
 * bad input. Free the issuer with hu_issuer_free().
 */
HU_EXPORT hu_status hu_issuer_new_hmac(hu_issuer **out, const char *alg,
    const char *app_id, const void *secret, size_t secret_len,
    char *detail, size_t detail_size) HU_WARN_UNUSED;

/*
 * Creates a public-key issuer from a PEM private key. alg is "RS256",
 * "RS384", "RS512", "ES256" or "ES384", and kid (may be NULL) is written to
 * the header. The key must fit alg as in hu_verifier_add_public_key_pem().
 */
HU_EXPORT hu_status hu_issuer_new_private_key_pem(hu_issuer **out,
    const char *alg, const char *app_id, const char *kid, const char *pem,
    size_t pem_len, char *detail, size_t detail_size) HU_WARN_UNUSED;

/*
 * Writes the public half of an unencrypted PEM private key (pem_len bytes)
 * as PEM SubjectPublicKeyInfo text ("-----BEGIN PUBLIC KEY-----"), for the
 * verifying side. alg is the algorithm the key signs with ("RS256", "RS384",
 * "RS512", "ES256" or "ES384"); NULL picks RS256 for an RSA key, ES256 for a
 * P-256 key and ES384 for a P-384 key. A key that does not fit alg under the
 * policy of hu_verifier_add_public_key_pem() returns HU_ERR_CONFIGURATION
 * with the reason in detail. On HU_OK the caller frees *public_pem_out with
 * hu_free(); on any other status it is set to NULL.
 */
HU_EXPORT hu_status hu_public_key_pem_from_private(const char *alg,
    const char *pem, size_t pem_len, char **public_pem_out, char *detail,
    size_t detail_size) HU_WARN_UNUSED;

/*
 * Writes the public half of a PEM private key as one JWK (RFC 7517) JSON
 * object with kty, n and e (RSA) or kty, crv, x and y (EC), then kid, alg
 * and "use": "sig". kid (1 to 256 bytes of UTF-8) is required, because
 * verifiers select JWKs by kid. alg and the key policy are as for
 * hu_public_key_pem_from_private(). The JWK is one that
 * hu_verifier_add_jwk() accepts. The caller frees *jwk_out with hu_free().
 */
HU_EXPORT hu_status hu_public_jwk_from_private(const char *alg,
    const char *kid, const char *pem, size_t pem_len, char **jwk_out,
    char *detail, size_t detail_size) HU_WARN_UNUSED;

/* Frees the issuer and wipes its key. NULL is a no-op. */
HU_EXPORT void hu_issuer_free(hu_issuer *issuer);

/* Sets the "aud" claim (default "jitsi"). */
HU_EXPORT hu_status hu_issuer_set_audience(hu_issuer *issuer,
    const char *audience) HU_WARN_UNUSED;

/* Sets the default "sub" claim, used when a request has none. */
HU_EXPORT hu_status hu_issuer_set_subject(hu_issuer *issuer,
    const char *sub) HU_WARN_UNUSED;

/*
 * Issues a signed token for request at time now (seconds since the epoch):
 * iat = now, nbf = now - 10, exp = now + ttl, all whole seconds. On HU_OK
 * *token_out receives a NUL-terminated string that the caller frees with
 * hu_free(). Invalid requests (missing room, a room with "@", "/" or control
 * characters, ttl below 1 or above 7 days) return HU_ERR_INVALID_ARGUMENT.
 */
HU_EXPORT hu_status hu_issue(const hu_issuer *issuer,
    const hu_token_request *request, int64_t now, char **token_out,
    char *detail, size_t detail_size) HU_WARN_UNUSED;

/*
 * Builds the join URL: base (for example "https://meet.example.com", a
 * trailing "/" allowed) + "/" + room percent-encoded + "?jwt=" + token when
 * token is not NULL. *url_out is freed with hu_free().
 */
HU_EXPORT hu_status hu_join_url(const char *base, const char *room,
    const char *token, char **url_out) HU_WARN_UNUSED;

/* Frees a string returned by this library. NULL is a no-op. */
HU_EXPORT void hu_free(void *ptr);

#ifdef __cplusplus
}
#endif

#endif /* HUDDLEUP_TOKEN_H */
