/*
 * The bench's keys, tokens and configured verifiers and issuers. Tokens are
 * signed here with OpenSSL directly, so the verify cases do not depend on
 * the issuer, and their claims follow Jitsi's token format.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "bench.h"

const size_t bench_token_sizes[SIZE_COUNT] = { 456, 2048, 8192 };

/* 2026-01-01T00:00:00Z. A fixed time keeps the HS256 tokens identical from
 * run to run, and every verification is given this time. */
#define BENCH_NOW 1767225600

/* Strings of the padding array that grows the 2 KB and 8 KB tokens. Long
 * strings keep the value count under HU_MAX_JSON_VALUES. */
#define PAD_ITEM_BYTES 48

static const char bench_secret[] = "bench-only-hs256-secret-0123456789abcdef";

static char *b64url(const void *data, size_t len)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *in = data;
	char *out = malloc(len / 3 * 4 + 5), *p = out;
	size_t i;

	if (out == NULL)
		return NULL;
	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*p++ = alphabet[v >> 18 & 63];
		*p++ = alphabet[v >> 12 & 63];
		*p++ = alphabet[v >> 6 & 63];
		*p++ = alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		*p++ = alphabet[v >> 18 & 63];
		*p++ = alphabet[v >> 12 & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		*p++ = alphabet[v >> 18 & 63];
		*p++ = alphabet[v >> 12 & 63];
		*p++ = alphabet[v >> 6 & 63];
	}
	*p = '\0';
	return out;
}

static size_t b64url_len(size_t len)
{
	return len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
}

/*
 * Writes the claims of the representative token: iss, aud, sub, room, exp,
 * nbf, context.user (id, name, email, avatar, moderator) and context.group.
 * The filler bytes lengthen the avatar URL, and pad_items strings of
 * PAD_ITEM_BYTES go into context.rooms. Returns the length, or 0 when out
 * is too small.
 */
static size_t write_claims(char *out, size_t size, size_t filler,
    size_t pad_items)
{
	char filler_text[64], rooms[16384];
	size_t used = 0, i;
	int n;

	if (filler >= sizeof filler_text ||
	    pad_items * (PAD_ITEM_BYTES + 3) + 16 > sizeof rooms)
		return 0;
	memset(filler_text, 'x', filler);
	filler_text[filler] = '\0';

	rooms[0] = '\0';
	if (pad_items > 0) {
		used = (size_t)snprintf(rooms, sizeof rooms, ",\"rooms\":[");
		for (i = 0; i < pad_items; i++)
			used += (size_t)snprintf(rooms + used, sizeof rooms - used,
			    "%s\"team-room-%04zu-%.*s\"", i ? "," : "", i,
			    PAD_ITEM_BYTES - 15, "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
		snprintf(rooms + used, sizeof rooms - used, "]");
	}

	n = snprintf(out, size,
	    "{\"iss\":\"huddleup\",\"aud\":\"jitsi\",\"sub\":\"meet.example.com\","
	    "\"room\":\"weekly-planning\",\"exp\":%d,\"nbf\":%d,"
	    "\"context\":{\"user\":{\"id\":\"1842\","
	    "\"name\":\"Ada Lovelace\",\"email\":\"ada@example.com\","
	    "\"avatar\":\"https://example.com/a/1842%s.png\","
	    "\"moderator\":true},\"group\":\"engineering\"%s}}",
	    BENCH_NOW + 3600, BENCH_NOW - 10, filler_text, rooms);
	if (n < 0 || (size_t)n >= size)
		return 0;
	return (size_t)n;
}

/* Writes claims whose HS256 token (with header_len bytes of encoded header)
 * is exactly total bytes long. Returns the claims length, or 0. */
static size_t claims_for_size(char *out, size_t size, size_t header_len,
    size_t total)
{
	size_t pad_items, filler, len;

	for (pad_items = 0; pad_items < 256; pad_items++) {
		for (filler = 0; filler < PAD_ITEM_BYTES + 8; filler++) {
			len = write_claims(out, size, filler, pad_items);
			if (len == 0)
				return 0;
			/* header "." claims "." 43 bytes of HS256 signature */
			if (header_len + 1 + b64url_len(len) + 1 + 43 == total)
				return len;
		}
	}
	return 0;
}

/* Joins "header.payload" for the given JSON texts. */
static char *signing_input(const char *header, const char *claims, size_t claims_len)
{
	char *h = b64url(header, strlen(header));
	char *p = b64url(claims, claims_len);
	char *joined = NULL;

	if (h != NULL && p != NULL) {
		joined = malloc(strlen(h) + strlen(p) + 2);
		if (joined != NULL)
			sprintf(joined, "%s.%s", h, p);
	}
	free(h);
	free(p);
	return joined;
}

static char *append_signature(char *input, const unsigned char *sig, size_t sig_len)
{
	char *encoded = b64url(sig, sig_len);
	char *token = NULL;

	if (encoded != NULL && input != NULL) {
		token = malloc(strlen(input) + strlen(encoded) + 2);
		if (token != NULL)
			sprintf(token, "%s.%s", input, encoded);
	}
	free(encoded);
	free(input);
	return token;
}

static char *sign_hs256(const char *header, const char *claims, size_t claims_len)
{
	char *input = signing_input(header, claims, claims_len);
	unsigned char tag[32];
	unsigned int tag_len = sizeof tag;

	if (input == NULL)
		return NULL;
	HMAC(EVP_sha256(), bench_secret, (int)strlen(bench_secret),
	    (const unsigned char *)input, strlen(input), tag, &tag_len);
	return append_signature(input, tag, tag_len);
}

/* Signs with RSA PKCS#1 v1.5 or ECDSA, converting ECDSA's DER output to the
 * JWS r||s form. */
static char *sign_pkey(EVP_PKEY *pkey, int is_ecdsa, const char *header,
    const char *claims, size_t claims_len)
{
	char *input = signing_input(header, claims, claims_len);
	unsigned char sig[512], raw[64];
	const unsigned char *der = sig;
	size_t sig_len = sizeof sig;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	ECDSA_SIG *ecsig;
	int ok;

	ok = input != NULL && ctx != NULL &&
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
	    EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)input,
	        strlen(input)) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		free(input);
		return NULL;
	}
	if (!is_ecdsa)
		return append_signature(input, sig, sig_len);

	ecsig = d2i_ECDSA_SIG(NULL, &der, (long)sig_len);
	ok = ecsig != NULL &&
	    BN_bn2binpad(ECDSA_SIG_get0_r(ecsig), raw, 32) == 32 &&
	    BN_bn2binpad(ECDSA_SIG_get0_s(ecsig), raw + 32, 32) == 32;
	ECDSA_SIG_free(ecsig);
	if (!ok) {
		free(input);
		return NULL;
	}
	return append_signature(input, raw, 64);
}

static char *pem_text(EVP_PKEY *pkey, int private_key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *text = NULL;
	long len;
	int ok;

	if (bio == NULL)
		return NULL;
	ok = private_key ?
	    PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) :
	    PEM_write_bio_PUBKEY(bio, pkey);
	len = BIO_get_mem_data(bio, &data);
	if (ok && len > 0 && (text = malloc((size_t)len + 1)) != NULL) {
		memcpy(text, data, (size_t)len);
		text[len] = '\0';
	}
	BIO_free(bio);
	return text;
}

static char *copy_text(const char *text)
{
	char *copy = malloc(strlen(text) + 1);

	if (copy != NULL)
		strcpy(copy, text);
	return copy;
}

/* Flips one bit of the decoded signature, keeping the base64url canonical. */
static char *with_bad_signature(const char *token)
{
	char *copy = copy_text(token);
	char *c;

	if (copy == NULL)
		return NULL;
	c = strrchr(copy, '.') + 5;
	*c = *c == 'A' ? 'B' : 'A';
	return copy;
}

static hu_verifier *new_verifier(const struct bench_fixture *f, const char *alg,
    const char *pem)
{
	char detail[HU_DETAIL_SIZE];
	hu_verifier *v = hu_verifier_new();
	hu_status status;

	if (v == NULL)
		return NULL;
	if (pem == NULL)
		status = hu_verifier_add_hmac_key(v, NULL, alg, f->secret,
		    sizeof f->secret, detail, sizeof detail);
	else
		status = hu_verifier_add_public_key_pem(v, NULL, alg, pem,
		    strlen(pem), detail, sizeof detail);
	if (status == HU_OK)
		status = hu_verifier_add_issuer(v, f->issuer);
	if (status == HU_OK)
		status = hu_verifier_add_audience(v, f->audience);
	if (status != HU_OK) {
		fprintf(stderr, "hu-bench: %s verifier setup failed: %s\n", alg,
		    hu_strerror(status));
		hu_verifier_free(v);
		return NULL;
	}
	return v;
}

static hu_issuer *new_issuer(const struct bench_fixture *f, const char *alg,
    const char *pem)
{
	char detail[HU_DETAIL_SIZE];
	hu_issuer *issuer = NULL;
	hu_status status;

	if (pem == NULL)
		status = hu_issuer_new_hmac(&issuer, alg, f->issuer, f->secret,
		    sizeof f->secret, detail, sizeof detail);
	else
		status = hu_issuer_new_private_key_pem(&issuer, alg, f->issuer,
		    NULL, pem, strlen(pem), detail, sizeof detail);
	if (status == HU_OK)
		status = hu_issuer_set_subject(issuer, "meet.example.com");
	if (status != HU_OK) {
		fprintf(stderr, "hu-bench: %s issuer setup failed: %s: %s\n", alg,
		    hu_strerror(status), detail);
		hu_issuer_free(issuer);
		return NULL;
	}
	return issuer;
}

static int make_hs256_tokens(struct bench_fixture *f)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	char claims[16384];
	size_t claims_len;
	int i;

	for (i = 0; i < SIZE_COUNT; i++) {
		claims_len = claims_for_size(claims, sizeof claims,
		    b64url_len(strlen(header)), bench_token_sizes[i]);
		if (claims_len == 0) {
			fprintf(stderr, "hu-bench: no claims give a %zu-byte token\n",
			    bench_token_sizes[i]);
			return -1;
		}
		f->hs256[i] = sign_hs256(header, claims, claims_len);
		if (f->hs256[i] == NULL)
			return -1;
		f->hs256_bad_signature[i] = with_bad_signature(f->hs256[i]);
		if (f->hs256_bad_signature[i] == NULL)
			return -1;
	}
	return 0;
}

static int make_rejected_tokens(struct bench_fixture *f)
{
	static const size_t oversized[3] = { 8193, 65536, 1048576 };
	static const char not_json[] = "this is not JSON";
	const char *small = f->hs256[SIZE_SMALL];
	char *header_end = strchr(small, '.');
	char *payload_end = strrchr(small, '.');
	char *input;
	size_t i;

	for (i = 0; i < 3; i++) {
		f->oversized[i] = malloc(oversized[i] + 1);
		if (f->oversized[i] == NULL)
			return -1;
		memset(f->oversized[i], 'A', oversized[i]);
		f->oversized[i][oversized[i]] = '\0';
		f->oversized_len[i] = oversized[i];
	}

	f->two_segments = copy_text(small);
	f->bad_base64 = copy_text(small);
	if (f->two_segments == NULL || f->bad_base64 == NULL)
		return -1;
	f->two_segments[payload_end - small] = '\0';
	f->bad_base64[header_end - small + 8] = '+';

	/* The header's own bytes are replaced; payload and signature stay. */
	input = b64url("{alg:HS256}", 11);
	if (input == NULL)
		return -1;
	f->header_not_json = malloc(strlen(input) + strlen(header_end) + 1);
	if (f->header_not_json != NULL)
		sprintf(f->header_not_json, "%s%s", input, header_end);
	free(input);

	input = b64url("{\"alg\":\"none\"}", 14);
	if (input == NULL)
		return -1;
	f->alg_none = malloc(strlen(input) + strlen(header_end) + 1);
	if (f->alg_none != NULL)
		sprintf(f->alg_none, "%s%s", input, header_end);
	free(input);

	/* Correctly signed, so the payload is parsed after the HMAC. */
	f->payload_not_json = sign_hs256("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
	    not_json, strlen(not_json));

	return f->header_not_json && f->alg_none && f->payload_not_json ? 0 : -1;
}

static int make_pkey_tokens(struct bench_fixture *f)
{
	char claims[1024];
	size_t claims_len = write_claims(claims, sizeof claims, 0, 0);

	f->rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	f->ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (f->rsa == NULL || f->ec == NULL || claims_len == 0)
		return -1;
	f->rsa_public_pem = pem_text(f->rsa, 0);
	f->rsa_private_pem = pem_text(f->rsa, 1);
	f->ec_public_pem = pem_text(f->ec, 0);
	f->ec_private_pem = pem_text(f->ec, 1);
	f->rs256 = sign_pkey(f->rsa, 0, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
	    claims, claims_len);
	f->es256 = sign_pkey(f->ec, 1, "{\"alg\":\"ES256\",\"typ\":\"JWT\"}",
	    claims, claims_len);
	return f->rsa_public_pem && f->rsa_private_pem && f->ec_public_pem &&
	    f->ec_private_pem && f->rs256 && f->es256 ? 0 : -1;
}

int bench_fixture_init(struct bench_fixture *f)
{
	memset(f, 0, sizeof *f);
	f->now = BENCH_NOW;
	memcpy(f->secret, bench_secret, sizeof f->secret);
	f->issuer = "huddleup";
	f->audience = "jitsi";

	if (make_hs256_tokens(f) != 0 || make_rejected_tokens(f) != 0 ||
	    make_pkey_tokens(f) != 0) {
		fprintf(stderr, "hu-bench: could not build the test tokens\n");
		return -1;
	}

	f->hs_verifier = new_verifier(f, "HS256", NULL);
	f->rs_verifier = new_verifier(f, "RS256", f->rsa_public_pem);
	f->es_verifier = new_verifier(f, "ES256", f->ec_public_pem);
	f->hs_issuer = new_issuer(f, "HS256", NULL);
	f->rs_issuer = new_issuer(f, "RS256", f->rsa_private_pem);
	f->es_issuer = new_issuer(f, "ES256", f->ec_private_pem);
	if (!f->hs_verifier || !f->rs_verifier || !f->es_verifier ||
	    !f->hs_issuer || !f->rs_issuer || !f->es_issuer)
		return -1;

	f->request.room = "weekly-planning";
	f->request.name = "Ada Lovelace";
	f->request.email = "ada@example.com";
	f->request.id = "1842";
	f->request.avatar = "https://example.com/a/1842.png";
	f->request.group = "engineering";
	f->request.moderator = 1;
	f->request.ttl = 3600;
	return 0;
}

void bench_fixture_free(struct bench_fixture *f)
{
	int i;

	for (i = 0; i < SIZE_COUNT; i++) {
		free(f->hs256[i]);
		free(f->hs256_bad_signature[i]);
	}
	for (i = 0; i < 3; i++)
		free(f->oversized[i]);
	free(f->two_segments);
	free(f->bad_base64);
	free(f->header_not_json);
	free(f->alg_none);
	free(f->payload_not_json);
	free(f->rsa_public_pem);
	free(f->rsa_private_pem);
	free(f->ec_public_pem);
	free(f->ec_private_pem);
	free(f->rs256);
	free(f->es256);
	EVP_PKEY_free(f->rsa);
	EVP_PKEY_free(f->ec);
	hu_verifier_free(f->hs_verifier);
	hu_verifier_free(f->rs_verifier);
	hu_verifier_free(f->es_verifier);
	hu_issuer_free(f->hs_issuer);
	hu_issuer_free(f->rs_issuer);
	hu_issuer_free(f->es_issuer);
}
