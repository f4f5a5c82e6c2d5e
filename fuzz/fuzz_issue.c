/*
 * The issuer's inputs: room, the user's strings and the options, issued by
 * hu_issue() with a fixed HS256 issuer. The input contains up to seven
 * strings separated by NUL bytes, in the order room, sub, name, email, id,
 * avatar and group, and a missing one is NULL. The options block follows:
 * one flag byte (bit 0 moderator, bit 1 take now from the 8 bytes after
 * the ttl) and a 4-byte ttl.
 * Properties:
 * - an issued token verifies with the issuer's key at the issuing time,
 *   its claims hold the request's strings unchanged (the room with each
 *   "%" written as "%25"), and its room claim admits that escaped room,
 *   which is the MUC node a Jitsi client sends for it;
 * - a refused request returns HU_ERR_INVALID_ARGUMENT with a detail;
 * - hu_join_url() builds a URL for every issued token whose room is not
 *   the wildcard.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "huddleup/token.h"

#define FIELD_COUNT 7

static hu_issuer *issuer;
static hu_verifier *verifier;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char detail[HU_DETAIL_SIZE] = "";

	(void)argc;
	(void)argv;
	FUZZ_ASSERT(hu_issuer_new_hmac(&issuer, "HS256", FUZZ_APP_ID, FUZZ_SECRET,
	    strlen(FUZZ_SECRET), detail, sizeof detail) == HU_OK, "%s", detail);
	verifier = hu_verifier_new();
	FUZZ_ASSERT(verifier != NULL, "out of memory");
	FUZZ_ASSERT(hu_verifier_add_hmac_key(verifier, NULL, "HS256", FUZZ_SECRET,
	    strlen(FUZZ_SECRET), NULL, 0) == HU_OK, "HS256 key");
	FUZZ_ASSERT(hu_verifier_add_issuer(verifier, FUZZ_APP_ID) == HU_OK,
	    "issuer");
	return 0;
}

static void check_string_claim(const hu_claims *claims, const char *path,
    const char *expected)
{
	size_t len = 0;
	const char *actual = hu_claims_get_string(claims, path, &len);

	if (expected == NULL)
		return;
	FUZZ_ASSERT(actual != NULL && len == strlen(expected) &&
	    memcmp(actual, expected, len) == 0, "claim %s changed", path);
}

/* Returns the room claim that the issuer writes for room: each "%" as
 * "%25", so that the claim percent-decodes to exactly the room. The caller
 * frees the result. */
static char *expected_room_claim(const char *room)
{
	char *claim = malloc(3 * strlen(room) + 1), *out = claim;

	FUZZ_ASSERT(claim != NULL, "out of memory");
	for (; *room != '\0'; room++) {
		if (*room == '%') {
			memcpy(out, "%25", 3);
			out += 3;
		} else {
			*out++ = *room;
		}
	}
	*out = '\0';
	return claim;
}

static void check_issued(const hu_token_request *request, int64_t now,
    const char *token)
{
	char detail[HU_DETAIL_SIZE] = "";
	hu_claims *claims = NULL;
	hu_status status;
	char *url = NULL, *room_claim;

	status = hu_verify(verifier, token, strlen(token), (double)now, &claims,
	    detail, sizeof detail);
	FUZZ_ASSERT(status == HU_OK, "issued token rejected: %s (%s)",
	    hu_strerror(status), detail);

	room_claim = expected_room_claim(request->room);
	check_string_claim(claims, "room", room_claim);
	check_string_claim(claims, "sub", request->sub);
	check_string_claim(claims, "context.user.name", request->name);
	check_string_claim(claims, "context.user.email", request->email);
	check_string_claim(claims, "context.user.id", request->id);
	check_string_claim(claims, "context.user.avatar", request->avatar);
	check_string_claim(claims, "context.group", request->group);
	FUZZ_ASSERT(hu_claims_is_moderator(claims) == (request->moderator != 0),
	    "moderator flag changed");
	/* The claim text is also the MUC node a Jitsi client sends for the
	 * room, up to case. */
	FUZZ_ASSERT(hu_claims_check_room(claims, room_claim,
	    strlen(room_claim)) == HU_OK, "room claim does not admit its room");
	free(room_claim);
	hu_claims_free(claims);

	status = hu_join_url("https://meet.example.com/", request->room, token,
	    &url);
	if (strcmp(request->room, "*") == 0)
		FUZZ_ASSERT(status == HU_ERR_INVALID_ARGUMENT, "URL for room *");
	else
		FUZZ_ASSERT(status == HU_OK && url != NULL, "no join URL: %s",
		    hu_strerror(status));
	hu_free(url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *fields[FIELD_COUNT] = { NULL };
	hu_token_request request;
	char detail[HU_DETAIL_SIZE];
	char *copy = malloc(size + 1), *token = NULL;
	size_t used = 0, field, len;
	int64_t now = (int64_t)FUZZ_NOW;
	int32_t ttl = 0;
	uint8_t flags = 0;
	hu_status status;

	FUZZ_ASSERT(copy != NULL, "out of memory");
	memcpy(copy, data, size);
	copy[size] = '\0';

	/* Strings end at a NUL; the last one may end at the end of input. */
	for (field = 0; field < FIELD_COUNT && used < size; field++) {
		fields[field] = copy + used;
		len = strlen(copy + used);
		used += len + 1;
	}
	if (used < size)
		flags = (uint8_t)data[used++];
	if (used + 4 <= size) {
		memcpy(&ttl, data + used, 4);
		used += 4;
	}
	if ((flags & 2) && used + 8 <= size)
		memcpy(&now, data + used, 8);

	memset(&request, 0, sizeof request);
	request.room = fields[0];
	request.sub = fields[1];
	request.name = fields[2];
	request.email = fields[3];
	request.id = fields[4];
	request.avatar = fields[5];
	request.group = fields[6];
	request.moderator = flags & 1;
	request.ttl = ttl;

	memset(detail, 'x', sizeof detail);
	status = hu_issue(issuer, &request, now, &token, detail, sizeof detail);
	FUZZ_ASSERT(memchr(detail, '\0', sizeof detail) != NULL,
	    "detail is not terminated");
	if (status == HU_OK) {
		FUZZ_ASSERT(token != NULL, "HU_OK without a token");
		check_issued(&request, now, token);
	} else {
		FUZZ_ASSERT(status == HU_ERR_INVALID_ARGUMENT, "status %s (%s)",
		    hu_strerror(status), detail);
		FUZZ_ASSERT(token == NULL, "token with %s", hu_strerror(status));
		FUZZ_ASSERT(detail[0] != '\0', "refusal without a detail");
	}
	hu_free(token);
	free(copy);
	return 0;
}
