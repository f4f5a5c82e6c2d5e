/*
 * link_check.c - built by tests/install/link.sh against an installed
 * libhuddleup-token through pkg-config. Issues a moderator token, verifies
 * it with the same library, and prints the library version on success.
 * Exits 0 when every check passes, 1 otherwise.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <huddleup/token.h>

static const char secret[] = "link-check-secret-of-at-least-32-bytes";

static int failures;

static void check(int condition, const char *description)
{
	if (!condition) {
		fprintf(stderr, "FAIL: %s\n", description);
		failures++;
	}
}

int main(void)
{
	char detail[HU_DETAIL_SIZE] = "";
	hu_token_request request;
	hu_issuer *issuer = NULL;
	hu_verifier *verifier = NULL;
	hu_claims *claims = NULL;
	char *token = NULL;
	const char *room;
	int64_t now = (int64_t)time(NULL);
	hu_status status;

	memset(&request, 0, sizeof request);
	request.room = "link-check";
	request.name = "Link Check";
	request.moderator = 1;

	status = hu_issuer_new_hmac(&issuer, "HS256", "link-check-app", secret,
	    strlen(secret), detail, sizeof detail);
	check(status == HU_OK, "hu_issuer_new_hmac returns HU_OK");
	if (status == HU_OK) {
		status = hu_issue(issuer, &request, now, &token, detail,
		    sizeof detail);
		check(status == HU_OK, "hu_issue returns HU_OK");
	}
	if (token == NULL) {
		fprintf(stderr, "FAIL: no token issued: %s (%s)\n",
		    hu_strerror(status), detail);
		hu_issuer_free(issuer);
		return 1;
	}

	verifier = hu_verifier_new();
	check(verifier != NULL, "hu_verifier_new returns a verifier");
	if (verifier != NULL) {
		check(hu_verifier_add_hmac_key(verifier, NULL, "HS256", secret,
		    strlen(secret), detail, sizeof detail) == HU_OK,
		    "hu_verifier_add_hmac_key returns HU_OK");
		check(hu_verifier_add_issuer(verifier, "link-check-app") == HU_OK,
		    "hu_verifier_add_issuer returns HU_OK");
		status = hu_verify(verifier, token, strlen(token), (double)now,
		    &claims, detail, sizeof detail);
		if (status != HU_OK)
			fprintf(stderr, "FAIL: hu_verify: %s (%s)\n",
			    hu_strerror(status), detail);
		check(status == HU_OK, "the issued token verifies");
	}
	if (claims != NULL) {
		room = hu_claims_get_string(claims, "room", NULL);
		check(room != NULL && strcmp(room, "link-check") == 0,
		    "the room claim is link-check");
		check(hu_claims_is_moderator(claims) == 1,
		    "the token grants moderator rights");
	}

	hu_claims_free(claims);
	hu_verifier_free(verifier);
	hu_free(token);
	hu_issuer_free(issuer);

	if (failures != 0)
		return 1;
	printf("%s\n", hu_version());
	return 0;
}
