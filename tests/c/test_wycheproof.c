/*
 * Runs every vector of four Project Wycheproof files (in
 * SHARED/vectors/wycheproof, format v1) through the signature layer:
 *
 *   hmac_sha256_test.json                  hu_key_new_hmac + hu_key_verify
 *   rsa_signature_2048_sha256_test.json    PEM and JWK keys, hu_key_verify
 *   ecdsa_secp256r1_sha256_p1363_test.json PEM and JWK keys, hu_key_verify
 *   json_web_signature_test.json           keys through the public API,
 *                                          whole tokens through hu_verify
 *
 * A vector passes when the library decides it as the file lists. Where the
 * library's policy decides instead (truncated HMAC tags, keys rejected at
 * load, "acceptable" results, algorithms it does not implement), the vector
 * is counted and named in the output with the reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "harness.h"
#include "internal.h"

#define NOW 1767225600.0

/* Per-file counts, printed at the end of each file. */
struct tally {
	const char *file;
	int vectors;
	int passed;
	int by_policy; /* decided by the library's policy, see the notes */
	int skipped;
};

static void print_tally(const struct tally *t)
{
	printf("%s: %d vectors: %d passed, %d decided by policy, %d skipped\n\n",
	    t->file, t->vectors, t->passed, t->by_policy, t->skipped);
}

/* Decodes hex text into a buffer from malloc (at least 1 byte, so an empty
 * message still has an address). Returns NULL on malformed hex. */
static unsigned char *hex_decode(const char *hex, size_t *len_out)
{
	size_t len = strlen(hex), i;
	unsigned char *out;

	if (len % 2 != 0 || (out = malloc(len / 2 + 1)) == NULL)
		return NULL;
	for (i = 0; i < len / 2; i++) {
		unsigned int byte;

		if (sscanf(hex + 2 * i, "%2x", &byte) != 1) {
			free(out);
			return NULL;
		}
		out[i] = (unsigned char)byte;
	}
	*len_out = len / 2;
	return out;
}

/* Loads SHARED/vectors/wycheproof/NAME; returns NULL after a failed check. */
static json_t *load_vectors(const char *shared_dir, const char *name)
{
	char path[1024];
	char *text;
	size_t len = 0;
	json_t *root;
	json_error_t error;

	printf("%s\n", name);
	snprintf(path, sizeof path, "%s/vectors/wycheproof/%s", shared_dir, name);
	text = hu_test_read_file(path, &len);
	CHECK_MSG(text != NULL, path);
	if (text == NULL)
		return NULL;
	root = json_loadb(text, len, 0, &error);
	free(text);
	CHECK_MSG(json_is_object(root), path);
	return root;
}

static const char *string_member(const json_t *object, const char *name)
{
	const char *value = json_string_value(json_object_get(object, name));

	return value != NULL ? value : "";
}

/* Checks one signature vector against key and returns the status. msg and
 * sig are hex. Returns HU_ERR_INTERNAL for malformed hex. */
static hu_status run_signature_vector(const hu_key *key, const json_t *test)
{
	size_t msg_len = 0, sig_len = 0;
	unsigned char *msg = hex_decode(string_member(test, "msg"), &msg_len);
	unsigned char *sig = hex_decode(string_member(test, "sig"), &sig_len);
	hu_status status = HU_ERR_INTERNAL;

	if (msg != NULL && sig != NULL)
		status = hu_key_verify(key, msg, msg_len, sig, sig_len);
	free(msg);
	free(sig);
	return status;
}

/* ---------------------------------------------------------------------
 * HMAC-SHA256
 * ------------------------------------------------------------------- */

static void run_hmac(const char *shared_dir)
{
	struct tally t = { "hmac_sha256_test.json", 0, 0, 0, 0 };
	json_t *root = load_vectors(shared_dir, t.file);
	const json_t *group, *test;
	size_t gi, ti;
	int truncated_valid = 0, short_keys_rejected = 0;

	if (root == NULL)
		return;
	json_array_foreach(json_object_get(root, "testGroups"), gi, group) {
		json_int_t tag_bits = json_integer_value(json_object_get(group, "tagSize"));

		json_array_foreach(json_object_get(group, "tests"), ti, test) {
			const char *result = string_member(test, "result");
			json_int_t id = json_integer_value(json_object_get(test, "tcId"));
			size_t key_len = 0, msg_len = 0, tag_len = 0;
			unsigned char *key_bytes = hex_decode(string_member(test, "key"), &key_len);
			unsigned char *msg = hex_decode(string_member(test, "msg"), &msg_len);
			unsigned char *tag = hex_decode(string_member(test, "tag"), &tag_len);
			hu_key *key = key_bytes ? hu_key_new_hmac(HU_ALG_HS256, key_bytes, key_len) : NULL;
			hu_status status;
			char note[96];

			t.vectors++;
			snprintf(note, sizeof note, "%s tcId %lld", t.file, (long long)id);
			CHECK_MSG(key && msg && tag, note);
			if (!(key && msg && tag))
				goto next;

			status = hu_key_verify(key, msg, msg_len, tag, tag_len);
			if (tag_bits < 256) {
				/* JWS HS256 carries the whole 32-byte tag (RFC 7518
				 * section 3.2), so a truncated tag never verifies. */
				CHECK_MSG(status == HU_ERR_SIGNATURE_MISMATCH, note);
				if (strcmp(result, "valid") == 0) {
					t.by_policy++;
					truncated_valid++;
				} else {
					t.passed++;
				}
			} else {
				int expected_ok = strcmp(result, "valid") == 0;

				CHECK_MSG(expected_ok ? status == HU_OK :
				    status == HU_ERR_SIGNATURE_MISMATCH, note);
				t.passed++;
			}

			/* The public API rejects keys under 32 bytes, which is why
			 * these vectors use hu_key_new_hmac directly. */
			if (key_len < HU_MIN_HMAC_SECRET) {
				hu_verifier *v = hu_verifier_new();

				CHECK_MSG(v != NULL && hu_verifier_add_hmac_key(v, NULL, "HS256",
				    key_bytes, key_len, NULL, 0) == HU_ERR_CONFIGURATION, note);
				short_keys_rejected++;
				hu_verifier_free(v);
			}
next:
			hu_key_free(key);
			free(key_bytes);
			free(msg);
			free(tag);
		}
	}
	printf("  %d valid vectors with a tag truncated to 128 bits: rejected, because "
	    "JWS needs the full tag\n", truncated_valid);
	printf("  %d vectors with 16-byte keys: the public API rejects such keys "
	    "(checked); the signature layer decided them\n", short_keys_rejected);
	print_tally(&t);
	json_decref(root);
}

/* ---------------------------------------------------------------------
 * RSASSA-PKCS1-v1_5 and ECDSA P-256 (P1363)
 * ------------------------------------------------------------------- */

/*
 * Loads a group's public key twice, from publicKeyPem and from the JWK
 * member jwk_name, and checks that both paths make the same decision.
 * Returns the PEM key, or NULL with the reason in detail.
 */
static hu_key *load_group_keys(const json_t *group, hu_alg alg, const char *jwk_name,
    hu_key **jwk_key_out, char *detail, const char *note)
{
	const char *pem = string_member(group, "publicKeyPem");
	char jwk_detail[HU_DETAIL_SIZE], kid[HU_KID_SIZE];
	json_t *jwk = json_deep_copy(json_object_get(group, jwk_name));
	hu_key *key, *jwk_key = NULL;
	hu_status status, jwk_status = HU_ERR_INTERNAL;

	key = hu_key_new_public_pem(alg, pem, strlen(pem), &status, detail, HU_DETAIL_SIZE);
	/* Wycheproof's JWKs carry "kid": "none" and, for RSA, alg RS256. */
	if (jwk != NULL)
		jwk_key = hu_key_new_jwk(jwk, kid, &jwk_status, jwk_detail, sizeof jwk_detail);
	CHECK_MSG(jwk != NULL, note);
	CHECK_MSG((key == NULL) == (jwk_key == NULL), note);
	if (key != NULL && jwk_key != NULL)
		CHECK_MSG(hu_key_equal(key, jwk_key), note);
	json_decref(jwk);
	*jwk_key_out = jwk_key;
	return key;
}

/* Returns why the key policy rejects an RSA group's key, or NULL when it
 * must accept it. */
static const char *rsa_policy_rejection(const json_t *group)
{
	const json_t *public_key = json_object_get(group, "publicKey");

	if (json_integer_value(json_object_get(group, "keySize")) < 2048)
		return "fewer than 2048 bits";
	if (strcmp(string_member(public_key, "publicExponent"), "010001") != 0)
		return "public exponent is not 65537";
	return NULL;
}

static void run_signature_file(const char *shared_dir, const char *file, hu_alg alg,
    const char *jwk_name)
{
	struct tally t = { file, 0, 0, 0, 0 };
	json_t *root = load_vectors(shared_dir, file);
	const json_t *group, *test;
	size_t gi, ti;

	if (root == NULL)
		return;
	json_array_foreach(json_object_get(root, "testGroups"), gi, group) {
		char detail[HU_DETAIL_SIZE], note[128];
		const char *rejection = alg == HU_ALG_RS256 ? rsa_policy_rejection(group) : NULL;
		hu_key *jwk_key = NULL, *key;

		snprintf(note, sizeof note, "%s group %zu", file, gi + 1);
		detail[0] = '\0';
		key = load_group_keys(group, alg, jwk_name, &jwk_key, detail, note);
		CHECK_MSG((key == NULL) == (rejection != NULL), note);

		json_array_foreach(json_object_get(group, "tests"), ti, test) {
			const char *result = string_member(test, "result");
			json_int_t id = json_integer_value(json_object_get(test, "tcId"));
			hu_status status, jwk_status;

			t.vectors++;
			snprintf(note, sizeof note, "%s tcId %lld (%s)", file, (long long)id, result);
			if (key == NULL || jwk_key == NULL) {
				t.by_policy++;
				printf("  tcId %lld (%s): key rejected at load (policy: %s): %s\n",
				    (long long)id, result, rejection ? rejection : "unexpected", detail);
				continue;
			}

			status = run_signature_vector(key, test);
			jwk_status = run_signature_vector(jwk_key, test);
			CHECK_MSG(status == jwk_status, note);
			if (strcmp(result, "acceptable") == 0) {
				/* The only acceptable vector of these files is a DigestInfo
				 * without its NULL parameters. The policy is strict DER
				 * encoding: OpenSSL 3.0 rejects it, and this check keeps
				 * it that way. */
				CHECK_MSG(status == HU_ERR_SIGNATURE_MISMATCH, note);
				t.by_policy++;
				printf("  tcId %lld (acceptable, %s): %s\n", (long long)id,
				    string_member(test, "comment"),
				    status == HU_OK ? "accepted" : "rejected");
				continue;
			}
			CHECK_MSG(strcmp(result, "valid") == 0 ? status == HU_OK :
			    status == HU_ERR_SIGNATURE_MISMATCH, note);
			t.passed++;
		}
		hu_key_free(key);
		hu_key_free(jwk_key);
	}
	print_tally(&t);
	json_decref(root);
}

/* ---------------------------------------------------------------------
 * JSON Web Signature
 * ------------------------------------------------------------------- */

/* Vectors of the base64 group whose labels contradict their content:
 * 367 and 370 are the same token as valid vector 357 but are labelled
 * invalid, and the MACs of 372 and 373 (labelled valid) do not verify.
 * They are run and skipped; accepted_as_jws is what the content shows. */
static const struct {
	json_int_t id;
	int accepted_as_jws;
	const char *reason;
} mislabelled[] = {
	{367, 1, "the same token as valid vector 357, but labelled invalid"},
	{370, 1, "the same token as valid vector 357, but labelled invalid"},
	{372, 0, "labelled valid, but its MAC does not verify"},
	{373, 0, "labelled valid, but its MAC does not verify"},
};

/* Returns the index in mislabelled of vector id, or -1. */
static int find_mislabelled(json_int_t id)
{
	size_t i;

	for (i = 0; i < sizeof mislabelled / sizeof *mislabelled; i++)
		if (mislabelled[i].id == id)
			return (int)i;
	return -1;
}

/* Returns 1 when status rejects a token at the JWS level (before the
 * payload is read as claims). */
static int rejected_as_jws(hu_status status)
{
	switch (status) {
	case HU_ERR_INVALID_ENCODING:
	case HU_ERR_TOKEN_TOO_LARGE:
	case HU_ERR_UNSUPPORTED_ALGORITHM:
	case HU_ERR_UNSUPPORTED_HEADER:
	case HU_ERR_SIGNATURE_MISMATCH:
	case HU_ERR_UNKNOWN_KEY:
		return 1;
	default:
		return 0;
	}
}

/* Returns 1 when status shows that the JWS verified: the token was
 * accepted, or rejected only for its payload, which these vectors do not
 * make a claim set. */
static int accepted_as_jws(hu_status status)
{
	return status == HU_OK ||
	    (hu_status_is_rejection(status) && !rejected_as_jws(status));
}

/*
 * Configures v with the group's key: the public JWK through
 * hu_verifier_add_jwk, or the private oct JWK's secret through
 * hu_verifier_add_hmac_key. Returns the status; *kid_out receives the kid.
 */
static hu_status configure_group_key(hu_verifier *v, const json_t *group, char *kid_out,
    char *detail)
{
	const json_t *public_jwk = json_object_get(group, "public");
	const json_t *private_jwk = json_object_get(group, "private");
	hu_status status;

	snprintf(kid_out, HU_KID_SIZE, "%s", string_member(
	    public_jwk ? public_jwk : private_jwk, "kid"));
	if (public_jwk != NULL) {
		char *text = json_dumps(public_jwk, JSON_COMPACT);

		if (text == NULL)
			return HU_ERR_NO_MEMORY;
		status = hu_verifier_add_jwk(v, text, strlen(text), detail, HU_DETAIL_SIZE);
		free(text);
	} else {
		const char *k = string_member(private_jwk, "k");
		unsigned char secret[256];
		long secret_len;

		if (strcmp(string_member(private_jwk, "kty"), "oct") != 0 ||
		    hu_b64url_decoded_max(strlen(k)) > sizeof secret)
			return HU_ERR_INTERNAL;
		secret_len = hu_b64url_decode(k, strlen(k), secret);
		if (secret_len < 0)
			return HU_ERR_INTERNAL;
		status = hu_verifier_add_hmac_key(v, kid_out[0] ? kid_out : NULL,
		    string_member(private_jwk, "alg"), secret, (size_t)secret_len,
		    detail, HU_DETAIL_SIZE);
	}
	return status;
}

/* Returns the alg of the group's key, from its public or private JWK. */
static const char *group_alg(const json_t *group)
{
	const char *alg = string_member(json_object_get(group, "public"), "alg");

	return alg[0] ? alg : string_member(json_object_get(group, "private"), "alg");
}

/* Returns 1 when alg names an algorithm this library implements. */
static int alg_implemented(const char *alg)
{
	return alg[0] == '\0' || hu_alg_from_name(alg, strlen(alg)) != HU_ALG_UNKNOWN;
}

/*
 * Checks a token with an empty payload segment through the signature layer
 * alone: hu_verify rejects it because a JWT needs a claim set.
 */
static void check_empty_payload_signature(const hu_verifier *v, const char *kid,
    const char *jws, const char *note)
{
	const hu_key *key = hu_verifier_find_key(v, kid[0] ? kid : NULL);
	const char *second = strchr(jws, '.');
	const char *third = second ? strchr(second + 1, '.') : NULL;
	unsigned char sig[1024];
	long sig_len = -1;

	CHECK_MSG(key != NULL && third != NULL && third == second + 1, note);
	if (key == NULL || third == NULL)
		return;
	if (hu_b64url_decoded_max(strlen(third + 1)) <= sizeof sig)
		sig_len = hu_b64url_decode(third + 1, strlen(third + 1), sig);
	CHECK_MSG(sig_len > 0, note);
	if (sig_len > 0)
		CHECK_MSG(hu_key_verify(key, (const unsigned char *)jws,
		    (size_t)(third - jws), sig, (size_t)sig_len) == HU_OK, note);
}

static void run_jws(const char *shared_dir)
{
	struct tally t = { "json_web_signature_test.json", 0, 0, 0, 0 };
	json_t *root = load_vectors(shared_dir, t.file);
	const json_t *group, *test;
	size_t gi, ti;

	if (root == NULL)
		return;
	json_array_foreach(json_object_get(root, "testGroups"), gi, group) {
		hu_verifier *v = hu_verifier_new();
		char detail[HU_DETAIL_SIZE], kid[HU_KID_SIZE], note[160];
		const char *alg = group_alg(group);
		hu_status key_status;

		snprintf(note, sizeof note, "%s group %zu (%s)", t.file, gi + 1,
		    string_member(group, "comment"));
		CHECK_MSG(v != NULL, note);
		if (v == NULL)
			continue;
		CHECK(hu_verifier_add_issuer(v, "*") == HU_OK);
		CHECK(hu_verifier_set_max_size(v, 65536) == HU_OK);
		detail[0] = '\0';
		key_status = configure_group_key(v, group, kid, detail);
		CHECK_MSG(key_status == HU_OK || key_status == HU_ERR_CONFIGURATION, note);

		json_array_foreach(json_object_get(group, "tests"), ti, test) {
			const char *result = string_member(test, "result");
			json_int_t id = json_integer_value(json_object_get(test, "tcId"));
			int skip = find_mislabelled(id);
			char *jws = json_is_string(json_object_get(test, "jws")) ?
			    strdup(string_member(test, "jws")) :
			    json_dumps(json_object_get(test, "jws"), JSON_COMPACT);
			int expected_valid = strcmp(result, "valid") == 0;
			char verify_detail[HU_DETAIL_SIZE];
			hu_status status;

			t.vectors++;
			snprintf(note, sizeof note, "%s tcId %lld (%s, %s)", t.file, (long long)id,
			    result, string_member(test, "comment"));
			CHECK_MSG(jws != NULL, note);
			if (jws == NULL)
				continue;
			if (key_status != HU_OK) {
				if (!alg_implemented(alg)) {
					t.skipped++;
					printf("  tcId %lld (%s) skipped: alg %s is not implemented "
					    "(key rejected at load)\n", (long long)id, result, alg);
				} else {
					/* Keys for encryption (use "enc", key_ops without
					 * "verify") are rejected, so nothing verifies. */
					CHECK_MSG(!expected_valid, note);
					t.by_policy++;
					printf("  tcId %lld (%s): key rejected at load: %s\n",
					    (long long)id, result, detail);
				}
				goto next;
			}

			status = hu_verify(v, jws, strlen(jws), NOW, NULL, verify_detail,
			    sizeof verify_detail);
			if (skip >= 0) {
				CHECK_MSG(accepted_as_jws(status) == mislabelled[skip].accepted_as_jws,
				    note);
				t.skipped++;
				printf("  tcId %lld skipped: %s (hu_verify: %s)\n", (long long)id,
				    mislabelled[skip].reason, hu_strerror(status));
				goto next;
			}
			if (expected_valid && strstr(jws, "..") != NULL) {
				/* A valid JWS with an empty payload is no JWT. */
				CHECK_MSG(status == HU_ERR_INVALID_ENCODING, note);
				check_empty_payload_signature(v, kid, jws, note);
				t.by_policy++;
				printf("  tcId %lld (valid, %s): signature verified by hu_key_verify; "
				    "hu_verify rejects the empty payload (invalid-encoding)\n",
				    (long long)id, string_member(test, "comment"));
				goto next;
			}
			if (expected_valid)
				CHECK_MSG(accepted_as_jws(status), note);
			else
				CHECK_MSG(rejected_as_jws(status), note);
			if (expected_valid ? !accepted_as_jws(status) : !rejected_as_jws(status))
				fprintf(stderr, "  %s: %s: %s\n", note, hu_strerror(status),
				    verify_detail);
			t.passed++;
next:
			free(jws);
		}
		hu_verifier_free(v);
	}
	print_tally(&t);
	json_decref(root);
}

int main(int argc, char **argv)
{
	const char *shared_dir = argc > 1 ? argv[1] : "../shared";

	run_hmac(shared_dir);
	run_signature_file(shared_dir, "rsa_signature_2048_sha256_test.json",
	    HU_ALG_RS256, "keyJwk");
	run_signature_file(shared_dir, "ecdsa_secp256r1_sha256_p1363_test.json",
	    HU_ALG_ES256, "publicKeyJwk");
	run_jws(shared_dir);
	return hu_test_finish("test_wycheproof");
}
