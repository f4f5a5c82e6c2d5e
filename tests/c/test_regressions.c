/*
 * Regression tests: one function per bug that fuzzing, the sanitizers or
 * the differential check found, each with the input that showed it.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "huddleup/token.h"

#define NOW 1767225600
#define SECRET "regression-test-secret-0123456789abcdef"
#define APP_ID "regression-app"

static hu_issuer *new_issuer(void)
{
	hu_issuer *issuer = NULL;
	char detail[HU_DETAIL_SIZE] = "";

	CHECK_MSG(hu_issuer_new_hmac(&issuer, "HS256", APP_ID, SECRET,
	    strlen(SECRET), detail, sizeof detail) == HU_OK, detail);
	return issuer;
}

static hu_verifier *new_verifier(void)
{
	hu_verifier *v = hu_verifier_new();

	CHECK(v != NULL);
	CHECK(hu_verifier_add_hmac_key(v, NULL, "HS256", SECRET, strlen(SECRET),
	    NULL, 0) == HU_OK);
	CHECK(hu_verifier_add_issuer(v, APP_ID) == HU_OK);
	return v;
}

/*
 * fuzz_issue: hu_issue() accepted a room of 1024 bytes, which the verifier
 * rejects as invalid-room-claim (a room is a JID localpart, at most 1023
 * bytes), so the issuer handed out a token that could never be used.
 */
static void test_issue_room_length_matches_verifier(void)
{
	static char room[1025];
	hu_issuer *issuer = new_issuer();
	hu_verifier *v = new_verifier();
	hu_token_request request = { 0 };
	char detail[HU_DETAIL_SIZE] = "";
	char *token = NULL;
	hu_status status;

	memset(room, 'r', 1024);
	room[1024] = '\0';
	request.room = room;
	status = hu_issue(issuer, &request, NOW, &token, detail, sizeof detail);
	CHECK_MSG(status == HU_ERR_INVALID_ARGUMENT, hu_strerror(status));
	CHECK(token == NULL);
	CHECK(strstr(detail, "1023") != NULL);

	room[1023] = '\0';
	status = hu_issue(issuer, &request, NOW, &token, detail, sizeof detail);
	CHECK_MSG(status == HU_OK, detail);
	if (token != NULL) {
		status = hu_verify(v, token, strlen(token), NOW, NULL, detail,
		    sizeof detail);
		CHECK_MSG(status == HU_OK, detail);
	}
	hu_free(token);
	hu_verifier_free(v);
	hu_issuer_free(issuer);
}

int main(void)
{
	test_issue_room_length_matches_verifier();
	return hu_test_finish("test_regressions");
}
