/*
 * Misuse of the public C API: NULL arguments, zero lengths, buffers without
 * a terminator, a verifier freed and replaced, and detail buffers that are
 * NULL, empty or too small. Each call must either work or return an error
 * status (with a non-empty detail where the call takes one), and never read
 * or write outside what it was given. Run under AddressSanitizer to make
 * the last part a checked property.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "huddleup/token.h"

#define NOW 1767225600.0
#define SECRET "misuse-test-secret-0123456789abcdef"
#define OTHER_SECRET "another-test-secret-0123456789abcdef"
#define APP_ID "misuse-app"

/* Issues an HS256 token for room "lobby" at NOW with secret. The caller
 * frees it with hu_free(). */
static char *issue_token(const char *secret)
{
	hu_issuer *issuer = NULL;
	hu_token_request request = { 0 };
	char detail[HU_DETAIL_SIZE];
	char *token = NULL;
	hu_status status;

	status = hu_issuer_new_hmac(&issuer, "HS256", APP_ID, secret,
	    strlen(secret), detail, sizeof detail);
	CHECK_MSG(status == HU_OK, detail);
	if (status != HU_OK)
		return NULL;
	request.room = "lobby";
	request.name = "Misuse";
	status = hu_issue(issuer, &request, (int64_t)NOW, &token, detail,
	    sizeof detail);
	CHECK_MSG(status == HU_OK, detail);
	hu_issuer_free(issuer);
	return token;
}

static hu_verifier *make_verifier(const char *secret)
{
	hu_verifier *v = hu_verifier_new();

	CHECK(v != NULL);
	if (v == NULL)
		return NULL;
	CHECK(hu_verifier_add_hmac_key(v, NULL, "HS256", secret, strlen(secret),
	    NULL, 0) == HU_OK);
	CHECK(hu_verifier_add_issuer(v, APP_ID) == HU_OK);
	return v;
}

/* Copies text into a heap block of exactly len bytes, with no terminator,
 * so that AddressSanitizer reports any read past len. */
static char *unterminated_copy(const char *text, size_t len)
{
	char *copy = malloc(len > 0 ? len : 1);

	CHECK(copy != NULL);
	if (copy != NULL && len > 0)
		memcpy(copy, text, len);
	return copy;
}

static void test_status_strings(void)
{
	CHECK(strcmp(hu_strerror(HU_OK), "ok") == 0);
	CHECK(strcmp(hu_strerror(HU_ERR_SIGNATURE_MISMATCH), "signature-mismatch") == 0);
	CHECK(strcmp(hu_strerror((hu_status)-1), "unknown-status") == 0);
	CHECK(strcmp(hu_strerror((hu_status)1000), "unknown-status") == 0);
	CHECK(!hu_status_is_rejection(HU_OK));
	CHECK(!hu_status_is_rejection((hu_status)-1));
	CHECK(!hu_status_is_rejection(HU_ERR_INVALID_ARGUMENT));
	CHECK(hu_version() != NULL);
	CHECK(hu_version() == NULL || hu_version()[0] != '\0');
}

static void test_free_null(void)
{
	/* Each *_free accepts NULL; the test passes by not crashing. */
	hu_verifier_free(NULL);
	hu_claims_free(NULL);
	hu_issuer_free(NULL);
	hu_free(NULL);
	CHECK(1);
}

static void test_verifier_setters_null(void)
{
	char detail[HU_DETAIL_SIZE];
	hu_verifier *v = hu_verifier_new();

	CHECK(hu_verifier_add_hmac_key(NULL, NULL, "HS256", SECRET, strlen(SECRET),
	    detail, sizeof detail) == HU_ERR_INVALID_ARGUMENT);
	CHECK(detail[0] != '\0');
	CHECK(hu_verifier_add_public_key_pem(NULL, NULL, "RS256", "x", 1,
	    detail, sizeof detail) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_add_issuer(NULL, APP_ID) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_add_audience(NULL, "jitsi") == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_set_leeway(NULL, 10) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_set_max_lifetime(NULL, 3600) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_set_max_size(NULL, 4096) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_set_require_room(NULL, 0) == HU_ERR_INVALID_ARGUMENT);

	CHECK(v != NULL);
	if (v == NULL)
		return;
	detail[0] = '\0';
	CHECK(hu_verifier_add_hmac_key(v, NULL, NULL, SECRET, strlen(SECRET),
	    detail, sizeof detail) == HU_ERR_INVALID_ARGUMENT);
	CHECK(detail[0] != '\0');
	CHECK(hu_verifier_add_hmac_key(v, NULL, "HS256", NULL, 40,
	    detail, sizeof detail) == HU_ERR_INVALID_ARGUMENT);
	detail[0] = '\0';
	CHECK(hu_verifier_add_hmac_key(v, NULL, "HS256", NULL, 0,
	    detail, sizeof detail) == HU_ERR_CONFIGURATION);
	CHECK(detail[0] != '\0');
	CHECK(hu_verifier_add_hmac_key(v, "", "HS256", SECRET, strlen(SECRET),
	    detail, sizeof detail) == HU_ERR_CONFIGURATION);
	CHECK(hu_verifier_add_hmac_key(v, NULL, "", SECRET, strlen(SECRET),
	    detail, sizeof detail) == HU_ERR_CONFIGURATION);
	CHECK(hu_verifier_add_public_key_pem(v, NULL, "RS256", NULL, 0,
	    detail, sizeof detail) == HU_ERR_INVALID_ARGUMENT);
	detail[0] = '\0';
	CHECK(hu_verifier_add_public_key_pem(v, NULL, "RS256", "", 0,
	    detail, sizeof detail) == HU_ERR_CONFIGURATION);
	CHECK(detail[0] != '\0');
	CHECK(hu_verifier_add_public_key_pem(v, NULL, NULL, "x", 1,
	    detail, sizeof detail) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_add_issuer(v, NULL) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_add_issuer(v, "") == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_add_audience(v, NULL) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_add_audience(v, "") == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_set_leeway(v, NAN) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_set_leeway(v, INFINITY) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_set_leeway(v, -1) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_set_leeway(v, 3601) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_set_max_lifetime(v, NAN) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_set_max_lifetime(v, 59) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_set_max_size(v, 0) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verifier_set_max_size(v, (size_t)-1) == HU_ERR_INVALID_ARGUMENT);
	hu_verifier_free(v);
}

static void test_verify_null_and_empty(const char *token)
{
	char detail[HU_DETAIL_SIZE];
	hu_claims *claims = (hu_claims *)&detail; /* must be reset to NULL */
	hu_verifier *v = make_verifier(SECRET);
	hu_verifier *unconfigured = hu_verifier_new();

	CHECK(hu_verify(NULL, token, strlen(token), NOW, &claims, detail,
	    sizeof detail) == HU_ERR_INVALID_ARGUMENT);
	CHECK(claims == NULL);
	CHECK(detail[0] != '\0');
	CHECK(hu_verify(v, NULL, 10, NOW, &claims, detail, sizeof detail) ==
	    HU_ERR_INVALID_ARGUMENT);
	detail[0] = '\0';
	CHECK(hu_verify(v, NULL, 0, NOW, &claims, detail, sizeof detail) ==
	    HU_ERR_INVALID_ENCODING);
	CHECK(detail[0] != '\0');
	CHECK(hu_verify(v, "", 0, NOW, &claims, detail, sizeof detail) ==
	    HU_ERR_INVALID_ENCODING);
	CHECK(hu_verify(v, token, strlen(token), NAN, &claims, detail,
	    sizeof detail) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_verify(v, token, strlen(token), INFINITY, &claims, detail,
	    sizeof detail) == HU_ERR_INVALID_ARGUMENT);
	CHECK(claims == NULL);

	/* A verifier without a key, or without an issuer, is a configuration
	 * error and not a rejection of the token. */
	detail[0] = '\0';
	CHECK(hu_verify(unconfigured, token, strlen(token), NOW, &claims, detail,
	    sizeof detail) == HU_ERR_CONFIGURATION);
	CHECK(detail[0] != '\0');
	CHECK(hu_verifier_add_hmac_key(unconfigured, NULL, "HS256", SECRET,
	    strlen(SECRET), NULL, 0) == HU_OK);
	detail[0] = '\0';
	CHECK(hu_verify(unconfigured, token, strlen(token), NOW, &claims, detail,
	    sizeof detail) == HU_ERR_CONFIGURATION);
	CHECK(detail[0] != '\0');

	/* claims_out NULL: the token is checked all the same. */
	CHECK(hu_verify(v, token, strlen(token), NOW, NULL, NULL, 0) == HU_OK);
	CHECK(hu_verify(v, token, strlen(token), NOW + 86400, NULL, NULL, 0) ==
	    HU_ERR_TOKEN_EXPIRED);

	hu_verifier_free(unconfigured);
	hu_verifier_free(v);
}

static void test_detail_buffers(const char *token)
{
	char detail[HU_DETAIL_SIZE];
	char tiny[8];
	char guard[4] = { 'x', 'x', 'x', 'x' };
	hu_verifier *v = make_verifier(SECRET);
	size_t len = strlen(token);

	/* detail NULL with a size, and a detail with size 0, must not be
	 * written. */
	CHECK(hu_verify(v, token, len, NOW + 86400, NULL, NULL, 100) ==
	    HU_ERR_TOKEN_EXPIRED);
	CHECK(hu_verify(v, token, len, NOW + 86400, NULL, guard, 0) ==
	    HU_ERR_TOKEN_EXPIRED);
	CHECK(guard[0] == 'x');
	CHECK(guard[3] == 'x');

	/* A detail of one byte holds only the terminator. */
	guard[0] = 'x';
	CHECK(hu_verify(v, token, len, NOW + 86400, NULL, guard, 1) ==
	    HU_ERR_TOKEN_EXPIRED);
	CHECK(guard[0] == '\0');
	CHECK(guard[1] == 'x');

	/* A short detail is truncated and terminated inside its size. */
	memset(tiny, 'x', sizeof tiny);
	CHECK(hu_verify(v, token, len, NOW + 86400, NULL, tiny, 5) ==
	    HU_ERR_TOKEN_EXPIRED);
	CHECK(strlen(tiny) == 4);
	CHECK(tiny[5] == 'x');

	/* The full detail names the failed check. */
	CHECK(hu_verify(v, token, len, NOW + 86400, NULL, detail, sizeof detail) ==
	    HU_ERR_TOKEN_EXPIRED);
	CHECK(strstr(detail, "expired") != NULL);

	/* Configuration calls obey the same rules. */
	memset(tiny, 'x', sizeof tiny);
	CHECK(hu_verifier_add_hmac_key(v, "short", "HS256", "short", 5, tiny, 3) ==
	    HU_ERR_CONFIGURATION);
	CHECK(strlen(tiny) == 2);
	CHECK(tiny[3] == 'x');
	CHECK(hu_verifier_add_hmac_key(v, "short", "HS256", "short", 5, NULL, 0) ==
	    HU_ERR_CONFIGURATION);
	hu_verifier_free(v);
}

/* Verifies every prefix of token from a block without a terminator: none
 * may be accepted, and none may be read past its length. */
static void test_unterminated_buffers(const char *token)
{
	size_t len = strlen(token), cut;
	hu_verifier *v = make_verifier(SECRET);
	hu_claims *claims = NULL;
	char detail[HU_DETAIL_SIZE];
	char *copy;
	hu_status status;
	int accepted_prefixes = 0;

	copy = unterminated_copy(token, len);
	status = hu_verify(v, copy, len, NOW, &claims, detail, sizeof detail);
	CHECK_MSG(status == HU_OK, detail);
	CHECK(claims != NULL);
	CHECK(hu_claims_get_string(claims, "room", NULL) != NULL);
	hu_claims_free(claims);
	free(copy);

	for (cut = 0; cut < len; cut++) {
		copy = unterminated_copy(token, cut);
		status = hu_verify(v, copy, cut, NOW, &claims, detail, sizeof detail);
		if (status == HU_OK)
			accepted_prefixes++;
		CHECK(hu_status_is_rejection(status));
		CHECK(claims == NULL);
		free(copy);
	}
	CHECK(accepted_prefixes == 0);

	/* The same token with bytes after len: len alone decides. */
	copy = malloc(len + 8);
	CHECK(copy != NULL);
	if (copy != NULL) {
		memcpy(copy, token, len);
		memcpy(copy + len, ".garbage", 8);
		CHECK(hu_verify(v, copy, len, NOW, NULL, NULL, 0) == HU_OK);
		CHECK(hu_verify(v, copy, len + 8, NOW, NULL, NULL, 0) ==
		    HU_ERR_INVALID_ENCODING);
		free(copy);
	}

	/* An unterminated PEM with an explicit length is read by length. */
	copy = unterminated_copy("-----BEGIN PUBLIC KEY-----\nAAAA\n", 32);
	CHECK(hu_verifier_add_public_key_pem(v, "rsa", "RS256", copy, 32,
	    detail, sizeof detail) == HU_ERR_CONFIGURATION);
	free(copy);

	/* So is an unterminated HMAC secret. */
	copy = unterminated_copy(OTHER_SECRET, strlen(OTHER_SECRET));
	CHECK(hu_verifier_add_hmac_key(v, "other", "HS256", copy,
	    strlen(OTHER_SECRET), detail, sizeof detail) == HU_OK);
	free(copy);
	hu_verifier_free(v);
}

/* A verifier freed and replaced by a new one (often at the same address)
 * keeps nothing of the old one, and claims from the old one stay valid. */
static void test_free_then_new(const char *token, const char *other_token)
{
	hu_verifier *first = make_verifier(SECRET);
	hu_verifier *second;
	hu_claims *claims = NULL;
	char detail[HU_DETAIL_SIZE];
	const char *room;

	CHECK(hu_verify(first, token, strlen(token), NOW, &claims, detail,
	    sizeof detail) == HU_OK);
	hu_verifier_free(first);

	second = make_verifier(OTHER_SECRET);
	CHECK(hu_verify(second, token, strlen(token), NOW, NULL, detail,
	    sizeof detail) == HU_ERR_SIGNATURE_MISMATCH);
	CHECK(hu_verify(second, other_token, strlen(other_token), NOW, NULL,
	    detail, sizeof detail) == HU_OK);

	room = hu_claims_get_string(claims, "room", NULL);
	CHECK(room != NULL);
	CHECK(room == NULL || strcmp(room, "lobby") == 0);
	CHECK(hu_claims_json(claims) != NULL);
	CHECK(hu_claims_exp(claims) > NOW);
	hu_claims_free(claims);
	hu_verifier_free(second);

	/* A new, empty verifier rejects as unconfigured, not with old keys. */
	second = hu_verifier_new();
	CHECK(hu_verify(second, token, strlen(token), NOW, NULL, NULL, 0) ==
	    HU_ERR_CONFIGURATION);
	hu_verifier_free(second);
}

static void test_claims_accessors(const char *token)
{
	hu_verifier *v = make_verifier(SECRET);
	hu_claims *claims = NULL;
	char long_path[200];
	size_t len = 12345;

	CHECK(hu_claims_is_moderator(NULL) == 0);
	CHECK(hu_claims_json(NULL) == NULL);
	CHECK(hu_claims_exp(NULL) == 0);
	CHECK(hu_claims_get_string(NULL, "room", &len) == NULL);
	CHECK(len == 12345);
	CHECK(hu_claims_check_room(NULL, "lobby", 5) == HU_ERR_INVALID_ARGUMENT);

	CHECK(hu_verify(v, token, strlen(token), NOW, &claims, NULL, 0) == HU_OK);
	if (claims == NULL) {
		hu_verifier_free(v);
		return;
	}
	CHECK(hu_claims_get_string(claims, NULL, NULL) == NULL);
	CHECK(hu_claims_get_string(claims, "", NULL) == NULL);
	CHECK(hu_claims_get_string(claims, ".", NULL) == NULL);
	CHECK(hu_claims_get_string(claims, "room.", NULL) == NULL);
	CHECK(hu_claims_get_string(claims, ".room", NULL) == NULL);
	CHECK(hu_claims_get_string(claims, "context..user", NULL) == NULL);
	CHECK(hu_claims_get_string(claims, "exp", NULL) == NULL);
	CHECK(hu_claims_get_string(claims, "room.name", NULL) == NULL);
	memset(long_path, 'a', sizeof long_path - 1);
	long_path[sizeof long_path - 1] = '\0';
	CHECK(hu_claims_get_string(claims, long_path, NULL) == NULL);
	CHECK(hu_claims_get_string(claims, "context.user.name", &len) != NULL);
	CHECK(len == strlen("Misuse"));

	CHECK(hu_claims_check_room(claims, NULL, 0) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_claims_check_room(claims, "", 0) == HU_ERR_ROOM_MISMATCH);
	CHECK(hu_claims_check_room(claims, "lobby", 5) == HU_OK);
	CHECK(hu_claims_check_room(claims, "LOBBY", 5) == HU_OK);
	CHECK(hu_claims_check_room(claims, "lobby-2", 5) == HU_OK);
	CHECK(hu_claims_check_room(claims, "lobby", 4) == HU_ERR_ROOM_MISMATCH);
	CHECK(hu_claims_check_room(claims, "%", 1) == HU_ERR_ROOM_MISMATCH);
	CHECK(hu_claims_check_room(claims, "%6", 2) == HU_ERR_ROOM_MISMATCH);
	/* An escape of an unreserved character ("%6C" for "l") is not decoded,
	 * so it cannot name another room. */
	CHECK(hu_claims_check_room(claims, "%6Cobby", 7) == HU_ERR_ROOM_MISMATCH);
	hu_claims_free(claims);
	hu_verifier_free(v);
}

static void test_issuer_misuse(void)
{
	char detail[HU_DETAIL_SIZE];
	hu_issuer *issuer = (hu_issuer *)&detail; /* must be reset to NULL */
	hu_token_request request = { 0 };
	char *token = (char *)&detail;
	char *url = (char *)&detail;

	CHECK(hu_issuer_new_hmac(NULL, "HS256", APP_ID, SECRET, strlen(SECRET),
	    detail, sizeof detail) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_issuer_new_hmac(&issuer, "HS256", NULL, SECRET, strlen(SECRET),
	    detail, sizeof detail) == HU_ERR_CONFIGURATION);
	CHECK(issuer == NULL);
	CHECK(hu_issuer_new_hmac(&issuer, "HS256", APP_ID, NULL, 40,
	    detail, sizeof detail) == HU_ERR_CONFIGURATION);
	CHECK(hu_issuer_new_hmac(&issuer, "HS256", APP_ID, SECRET, 0,
	    NULL, 0) == HU_ERR_CONFIGURATION);
	CHECK(hu_issuer_new_hmac(&issuer, "RS256", APP_ID, SECRET, strlen(SECRET),
	    detail, sizeof detail) == HU_ERR_CONFIGURATION);
	CHECK(hu_issuer_new_private_key_pem(&issuer, "RS256", APP_ID, NULL, NULL,
	    0, detail, sizeof detail) == HU_ERR_CONFIGURATION);
	CHECK(hu_issuer_new_private_key_pem(&issuer, NULL, APP_ID, NULL, "x", 1,
	    detail, sizeof detail) == HU_ERR_CONFIGURATION);
	CHECK(hu_issuer_new_private_key_pem(NULL, "RS256", APP_ID, NULL, "x", 1,
	    detail, sizeof detail) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_issuer_set_audience(NULL, "jitsi") == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_issuer_set_subject(NULL, "meet") == HU_ERR_INVALID_ARGUMENT);

	CHECK(hu_issuer_new_hmac(&issuer, NULL, APP_ID, SECRET, strlen(SECRET),
	    detail, sizeof detail) == HU_OK);
	if (issuer == NULL)
		return;
	CHECK(hu_issuer_set_audience(issuer, NULL) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_issuer_set_audience(issuer, "") == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_issuer_set_subject(issuer, NULL) == HU_OK);

	CHECK(hu_issue(NULL, &request, (int64_t)NOW, &token, detail,
	    sizeof detail) == HU_ERR_INVALID_ARGUMENT);
	CHECK(token == NULL);
	CHECK(hu_issue(issuer, NULL, (int64_t)NOW, &token, detail,
	    sizeof detail) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_issue(issuer, &request, (int64_t)NOW, NULL, detail,
	    sizeof detail) == HU_ERR_INVALID_ARGUMENT);
	detail[0] = '\0';
	CHECK(hu_issue(issuer, &request, (int64_t)NOW, &token, detail,
	    sizeof detail) == HU_ERR_INVALID_ARGUMENT);
	CHECK(detail[0] != '\0');
	request.room = "";
	CHECK(hu_issue(issuer, &request, (int64_t)NOW, &token, NULL, 0) ==
	    HU_ERR_INVALID_ARGUMENT);
	request.room = "lobby";
	request.ttl = -1;
	CHECK(hu_issue(issuer, &request, (int64_t)NOW, &token, detail, 1) ==
	    HU_ERR_INVALID_ARGUMENT);
	CHECK(detail[0] == '\0');
	request.ttl = 0;
	CHECK(hu_issue(issuer, &request, -1, &token, detail, sizeof detail) ==
	    HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_issue(issuer, &request, (int64_t)NOW, &token, NULL, 0) == HU_OK);
	CHECK(token != NULL);

	CHECK(hu_join_url(NULL, "lobby", token, &url) == HU_ERR_INVALID_ARGUMENT);
	CHECK(url == NULL);
	CHECK(hu_join_url("https://meet.example.com", NULL, token, &url) ==
	    HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_join_url("https://meet.example.com", "lobby", token, NULL) ==
	    HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_join_url("", "lobby", token, &url) == HU_ERR_INVALID_ARGUMENT);
	CHECK(hu_join_url("https://meet.example.com", "lobby", NULL, &url) == HU_OK);
	hu_free(url);

	hu_free(token);
	hu_issuer_free(issuer);
}

int main(void)
{
	char *token = issue_token(SECRET);
	char *other_token = issue_token(OTHER_SECRET);

	test_status_strings();
	test_free_null();
	test_verifier_setters_null();
	if (token != NULL && other_token != NULL) {
		test_verify_null_and_empty(token);
		test_detail_buffers(token);
		test_unterminated_buffers(token);
		test_free_then_new(token, other_token);
		test_claims_accessors(token);
	}
	test_issuer_misuse();

	hu_free(token);
	hu_free(other_token);
	return hu_test_finish("test_misuse");
}
